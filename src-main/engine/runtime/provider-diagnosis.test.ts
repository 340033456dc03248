// The probe's diagnosis against onnxruntime-node 1.30's real error texts: the ones captured here from ORT's
// own provider-loading path (ort-provider-errors.captured.ts, and again live from the CUDA stand-in), and
// the CUDA/DirectML runtime texts that need a GPU to occur, written from ORT's and CUDA's formats (marked).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCudaStandIn, canBuildCudaStandIn, type CudaStandIn } from './cuda-standin.test-support.ts';
import { CAPTURED, CAPTURED_WEBGPU_OUT_OF_MEMORY } from './ort-provider-errors.captured.ts';
import { diagnoseProvider, isOutOfMemory } from './provider-diagnosis.ts';
import { captureProviderFailure } from './provider-log.ts';

const diagnose = (key: keyof typeof CAPTURED) => {
  const c = CAPTURED[key];
  return diagnoseProvider(c.provider, c.message, c.log);
};

describe('provider diagnosis of captured onnxruntime-node 1.30 texts', () => {
  it('names the CUDA provider library when the NuGet download is missing, and how to get it', () => {
    const d = diagnose('notInstalled');
    assert.match(d.reason, /CUDA provider is not installed \(libonnxruntime_providers_cuda\.so and libonnxruntime_providers_shared\.so missing/);
    assert.match(d.fix, /node scripts\/postinstall\.mjs/);
    assert.equal(d.missing, 'libonnxruntime_providers_shared.so');
  });

  it('names libcudnn.so.9 and says to install cuDNN 9', () => {
    const d = diagnose('cudnnMissing');
    assert.equal(d.missing, 'libcudnn.so.9');
    assert.equal(d.reason, 'libcudnn.so.9 was not found (cuDNN 9 for CUDA 12 that libonnxruntime_providers_cuda.so needs)');
    assert.match(d.fix, /^install cuDNN 9 for CUDA 12 .*LD_LIBRARY_PATH$/);
    assert.ok(!d.fix.includes('\n'), 'the fix is one line');
  });

  it('names libcublasLt.so.12 and says to install the CUDA 12 runtime', () => {
    const d = diagnose('cublasLtMissing');
    assert.equal(d.missing, 'libcublasLt.so.12');
    assert.match(d.reason, /^libcublasLt\.so\.12 was not found \(the CUDA 12 runtime/);
    assert.match(d.fix, /CUDA 12 runtime/);
  });

  it('names the TensorRT provider library (the shared bridge was there)', () => {
    assert.equal(diagnose('tensorrt').reason, "onnxruntime-node's TensorRT provider is not installed (libonnxruntime_providers_tensorrt.so missing next to libonnxruntime)");
  });

  it('says the build has no DirectML or CoreML provider on this platform', () => {
    assert.deepEqual(diagnose('dml'), { reason: 'this onnxruntime-node build has no DirectML provider', fix: '' });
    assert.deepEqual(diagnose('coreml'), { reason: 'this onnxruntime-node build has no CoreML provider', fix: '' });
  });

  it('names the missing Vulkan loader behind "no WebGPU adapter"', () => {
    const d = diagnose('webgpu');
    assert.equal(d.missing, 'libvulkan.so.1');
    assert.match(d.reason, /^Failed to get a WebGPU adapter: No supported adapters: the Vulkan loader/);
    assert.match(d.fix, /apt install libvulkan1/);
  });
});

// Not captured (they need an NVIDIA GPU or Windows): ORT's CudaCall format "<lib> failure <code>: <text> ;
// GPU=<id> ; hostname=<h> ; file=<f> ; line=<n> ; expr=<call>;" with cudaGetErrorString's texts, and
// DirectML's HRESULTs as ORT prints them.
const cudaFailure = (code: number, text: string, expr: string) =>
  `CUDA failure ${code}: ${text} ; GPU=0 ; hostname=studio ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=243 ; expr=${expr}; `;

describe('provider diagnosis of GPU runtime texts (from ORT/CUDA formats, not captured)', () => {
  it('an old driver: names the driver version needed', () => {
    const d = diagnoseProvider('cuda', cudaFailure(35, 'CUDA driver version is insufficient for CUDA runtime version', 'cudaSetDevice(info_.device_id)'));
    assert.match(d.reason, /NVIDIA driver is too old/);
    assert.match(d.fix, /525\.60 or newer/);
  });

  it('no device, and a device id out of range', () => {
    assert.match(diagnoseProvider('cuda', cudaFailure(100, 'no CUDA-capable device is detected', 'cudaSetDevice(info_.device_id)')).reason, /no NVIDIA GPU/);
    assert.match(diagnoseProvider('cuda', cudaFailure(101, 'invalid device ordinal', 'cudaSetDevice(info_.device_id)')).fix, /device id/);
  });

  it('DirectML without a DirectX 12 adapter', () => {
    const d = diagnoseProvider('dml', 'D:\\a\\_work\\1\\s\\onnxruntime\\core\\providers\\dml\\dml_provider_factory.cc(555)\\onnxruntime_binding.node!00007FF8: (caller: 00007FF8) Exception(1) tid(1a2c) 887A0004 The specified device interface or feature level is not supported on this system.');
    assert.equal(d.missing, 'DirectX 12 adapter');
    assert.match(d.fix, /graphics driver/);
  });

  it('an unknown text falls back to its first line, with no invented fix', () => {
    assert.deepEqual(diagnoseProvider('cuda', 'something new\nsecond line'), { reason: 'something new', fix: '' });
  });
});

describe('out-of-memory texts', () => {
  it('recognises CUDA and DirectML allocation failures (from their formats), WebGPU\'s (captured), and not a shape error', () => {
    assert.ok(isOutOfMemory('/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 2147483648'));
    assert.ok(isOutOfMemory(cudaFailure(2, 'out of memory', 'cudaMalloc((void**)&p, size)')));
    assert.ok(isOutOfMemory('Exception(3) tid(2f04) 8007000E Not enough memory resources are available to complete this operation.'));
    assert.ok(isOutOfMemory('Exception(2) tid(2f04) 887A0005 The GPU device instance has been suspended. Use GetDeviceRemovedReason to determine the appropriate action.'));
    assert.ok(isOutOfMemory(CAPTURED_WEBGPU_OUT_OF_MEMORY.message), 'what JS gets on WebGPU (captured)');
    assert.ok(isOutOfMemory(CAPTURED_WEBGPU_OUT_OF_MEMORY.log), 'what ORT logs on WebGPU (captured)');
    assert.ok(!isOutOfMemory('[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: x'));
  });
});

describe('live capture from the CUDA stand-in (ORT loads it as it would the real provider)', { skip: canBuildCudaStandIn() ? false : 'needs Linux x64 and a C++ compiler' }, () => {
  let dir = '';
  let standIn: CudaStandIn;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cuda-standin-'));
    standIn = buildCudaStandIn(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ORT reports libcudnn.so.9, then with cuDNN found libcublasLt.so.12, and the diagnosis names each', async () => {
    const noCudnn = await captureProviderFailure('cuda', { ortEntry: standIn.ortEntry, env: { LD_LIBRARY_PATH: '' } });
    assert.ok(noCudnn, 'the stand-in must fail');
    assert.equal(noCudnn.message, CAPTURED.cudnnMissing.message);
    assert.equal(diagnoseProvider('cuda', noCudnn.message, noCudnn.log).missing, 'libcudnn.so.9');

    const noCublas = await captureProviderFailure('cuda', { ortEntry: standIn.ortEntry, env: { LD_LIBRARY_PATH: standIn.cudnnOnlyDir } });
    assert.ok(noCublas);
    assert.equal(diagnoseProvider('cuda', noCublas.message, noCublas.log).missing, 'libcublasLt.so.12');
  });

  it('the CPU provider works in the capture child (null: nothing failed)', async () => {
    assert.equal(await captureProviderFailure('cpu', { ortEntry: standIn.ortEntry }), null);
  });
});
