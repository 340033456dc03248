// Error texts onnxruntime-node 1.30.0 gives when a provider cannot start, kept as test data for the probe's
// diagnosis (provider-diagnosis.test.ts).
//
// CAPTURED here (Linux x64, no GPU, 2026-12-03) with captureProviderFailure (provider-log.ts) against the
// stand-in CUDA provider of cuda-standin.test-support.ts: `message` is what JS got from InferenceSession.create,
// `log` is ORT's own stderr log of the same attempt. The loader error inside the log is glibc's dlerror text
// passed through by ORT's provider bridge, as it would be for the real NuGet libonnxruntime_providers_cuda.so
// (which links against libcudnn.so.9 and libcublasLt.so.12 among others; the stand-in links only those two,
// cuDNN first, so the first missing one is named). provider-diagnosis.test.ts also repeats the capture live.
export interface CapturedProviderError {
  provider: string;
  message: string;
  log: string;
}

export const CAPTURED: Record<string, CapturedProviderError> = {
  // the install without the NuGet download (this machine as installed)
  notInstalled: {
    provider: "cuda",
    message: "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library",
    log: "2026-12-03 12:29:08.931831349 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /tmp/hb-standin-VgGjmE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so with error: /tmp/hb-standin-VgGjmE/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so: cannot open shared object file: No such file or directory",
  },
  // provider libraries present, cuDNN 9 not on the loader path
  cudnnMissing: {
    provider: "cuda",
    message: "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library",
    log: "2026-12-03 12:29:09.447200554 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /tmp/hb-standin-z0PUd4/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file: No such file or directory",
  },
  // cuDNN found (LD_LIBRARY_PATH), the CUDA 12 runtime's cuBLASLt missing
  cublasLtMissing: {
    provider: "cuda",
    message: "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library",
    log: "2026-12-03 12:29:09.929128533 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2146 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /tmp/hb-standin-z0PUd4/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory",
  },
  // TensorRT provider library not installed
  tensorrt: {
    provider: "tensorrt",
    message: "OrtSessionOptionsAppendExecutionProvider_TensorRT: Failed to load shared library",
    log: "2026-12-03 12:29:10.322003265 [E:onnxruntime:onnxruntime-node, provider_bridge_ort.cc:2235 Create] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:1988 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /tmp/hb-standin-z0PUd4/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so with error: /tmp/hb-standin-z0PUd4/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_tensorrt.so: cannot open shared object file: No such file or directory",
  },
  // asking for DirectML on Linux
  dml: {
    provider: "dml",
    message: "no available backend found. ERR: [dml] backend not found.",
    log: "",
  },
  // asking for CoreML on Linux
  coreml: {
    provider: "coreml",
    message: "no available backend found. ERR: [coreml] backend not found.",
    log: "",
  },
  // WebGPU with no Vulkan loader on the library path
  webgpu: {
    provider: "webgpu",
    message: "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n",
    log: "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory\n    at operator() (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/BackendVk.cpp:368)",
  },
};

// CAPTURED here the same day: a run that needs a 1 GiB buffer ([16, 4096, 4096] float32 MatMul scores) on the
// WebGPU provider over SwiftShader (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json,
// LD_LIBRARY_PATH=/usr/lib/chromium). JS gets only Dawn's follow-up validation error; the out-of-memory itself
// is in ORT's log.
export const CAPTURED_WEBGPU_OUT_OF_MEMORY: CapturedProviderError = {
  provider: 'webgpu',
  message: 'WebGPU validation failed. [Invalid Buffer (unlabeled)] is invalid due to a previous error.',
  log: `[E:onnxruntime:onnxruntime-node, webgpu_context.cc:171 operator()] WebGPU device error(3): vkAllocateMemory failed with VK_ERROR_OUT_OF_DEVICE_MEMORY
 - While calling [Device].CreateBuffer([BufferDescriptor]).
    at CheckVkOOMThenSuccessImpl (/build/Release/_deps/dawn-src/src/dawn/native/vulkan/VulkanError.cpp:119)`,
};
