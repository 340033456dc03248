// Turns why onnxruntime could not start a provider into what an artist can act on: the missing piece, named
// exactly (a library file, the driver, the adapter), and the fix in one line. Pure text in, text out: the
// probe feeds it the JS error and ORT's own log (provider-log.ts); the tests feed it texts captured from
// onnxruntime-node 1.30 (provider-diagnosis.test.ts says how).

export interface ProviderDiagnosis {
  /** One sentence: what is wrong. */
  reason: string;
  /** One line: what to do about it ('' when there is nothing the user can do). */
  fix: string;
  /** The exact missing piece when there is one: a library file name, 'NVIDIA driver', 'DirectX 12 adapter'. */
  missing?: string;
}

// ORT: "Failed to load library <path> with error: <dlerror>"; glibc's dlerror: "<file>: cannot open shared
// object file: No such file or directory" (the file the loader missed, which may be a dependency of <path>).
const LOAD_FAILURE = /Failed to load library (\S+) with error: (\S+?): cannot open shared object file/;
const WINDOWS_LOAD_FAILURE = /LoadLibrary failed with error (\d+) "[^"]*" when trying to load "([^"]+)"/;

/** The CUDA 12 / cuDNN 9 / TensorRT file families the provider libraries link against, with what ships them. */
const CUDA_LIBRARIES: { pattern: RegExp; what: string; fix: string }[] = [
  { pattern: /^libcudnn/, what: 'cuDNN 9 for CUDA 12', fix: 'install cuDNN 9 for CUDA 12 (Debian/Ubuntu with NVIDIA\'s repository: sudo apt install libcudnn9-cuda-12) or add its lib folder to LD_LIBRARY_PATH' },
  { pattern: /^libcuda\.so/, what: 'the NVIDIA driver', fix: 'install the NVIDIA driver (525 or newer) and reboot; `nvidia-smi` must list the GPU' },
  { pattern: /^libnvinfer/, what: 'TensorRT 10', fix: 'install TensorRT 10 for CUDA 12 or add its lib folder to LD_LIBRARY_PATH' },
  { pattern: /^lib(cublas|cublasLt|cudart|cufft|curand|nvrtc|nvJitLink|cusparse|cusolver)/, what: 'the CUDA 12 runtime', fix: 'install the CUDA 12 runtime libraries (sudo apt install cuda-libraries-12-x from NVIDIA\'s repository) or add CUDA 12\'s lib64 folder to LD_LIBRARY_PATH' },
];

const PROVIDER_TITLE: Record<string, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', tensorrt: 'TensorRT', cpu: 'CPU' };

function base(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}

/** What to say when `provider` could not create a session: `message` is the JS error, `log` ORT's log. */
export function diagnoseProvider(provider: string, message: string, log = ''): ProviderDiagnosis {
  const text = `${message}\n${log}`;
  const title = PROVIDER_TITLE[provider] ?? provider;

  const load = LOAD_FAILURE.exec(text);
  if (load) {
    const [, library, missingPath] = load;
    const missing = base(missingPath);
    if (/^libonnxruntime_providers_/.test(missing)) {
      // ORT loads the shared bridge first, so a missing download is reported as the bridge's file.
      const own = `libonnxruntime_providers_${provider}.so`;
      const files = missing === own ? own : `${own} and ${missing}`;
      return {
        reason: `onnxruntime-node's ${title} provider is not installed (${files} missing next to libonnxruntime)`,
        fix: 'with internet access, run `node scripts/postinstall.mjs` in the Hintbrush folder (or `npm ci`) to download it from NuGet (Linux x64; it then needs CUDA 12 and cuDNN 9)',
        missing,
      };
    }
    const family = CUDA_LIBRARIES.find((f) => f.pattern.test(missing));
    return {
      reason: `${missing} was not found (${family ? family.what : 'a library'} that ${base(library)} needs)`,
      fix: family?.fix ?? `install the package that provides ${missing} or add its folder to LD_LIBRARY_PATH`,
      missing,
    };
  }
  const winLoad = WINDOWS_LOAD_FAILURE.exec(text);
  if (winLoad) {
    const missing = base(winLoad[2]);
    return {
      reason: `${missing} could not be loaded (Windows error ${winLoad[1]}: it or a DLL it needs is missing)`,
      fix: /cudnn/i.test(missing) ? 'install cuDNN 9 for CUDA 12 and add its bin folder to PATH' : 'install the CUDA 12 runtime and cuDNN 9 and add their bin folders to PATH',
      missing,
    };
  }
  if (/undefined symbol: (\S+)/.test(text)) {
    const symbol = /undefined symbol: (\S+)/.exec(text)![1];
    return {
      reason: `a ${title} library on this system is a different version than onnxruntime-node 1.30 expects (undefined symbol ${symbol})`,
      fix: 'install CUDA 12 and cuDNN 9 (not CUDA 11 or cuDNN 8) and make sure LD_LIBRARY_PATH finds them first',
    };
  }
  // CUDA runtime errors, in ORT's CudaCall format "CUDA failure <code>: <cudaGetErrorString> ; GPU=...".
  if (/CUDA failure 35\b|cudaErrorInsufficientDriver|driver version is insufficient/i.test(text)) {
    return {
      reason: 'the NVIDIA driver is too old for CUDA 12 (CUDA driver version is insufficient for CUDA runtime version)',
      fix: 'update the NVIDIA driver to 525.60 or newer on Linux (527.41 on Windows) and reboot',
      missing: 'NVIDIA driver 525 or newer',
    };
  }
  if (/CUDA failure 100\b|cudaErrorNoDevice|no CUDA-capable device/i.test(text)) {
    return {
      reason: 'no NVIDIA GPU is visible to CUDA (no CUDA-capable device is detected)',
      fix: 'check that `nvidia-smi` lists the GPU; in a container, start it with the GPU passed through (docker --gpus all)',
      missing: 'NVIDIA GPU',
    };
  }
  if (/CUDA failure 101\b|cudaErrorInvalidDevice|invalid device ordinal/i.test(text)) {
    return {
      reason: 'the chosen CUDA device id does not exist on this machine (invalid device ordinal)',
      fix: 'choose a device id that `nvidia-smi` lists (they count from 0) in the provider setting',
    };
  }
  if (/CUDA failure 999\b/.test(text)) {
    return { reason: 'the CUDA driver failed to start (unknown error; often after a suspend or a driver update)', fix: 'reboot, or reload the driver: sudo modprobe -r nvidia_uvm && sudo modprobe nvidia_uvm' };
  }
  // DirectML / Direct3D 12 HRESULTs (winerror.h): no adapter, removed or hung device.
  if (/887A0004|DXGI_ERROR_UNSUPPORTED|887A0002|DXGI_ERROR_NOT_FOUND|No adapter|no suitable adapter/i.test(text)) {
    return {
      reason: 'no DirectX 12 GPU adapter for DirectML (the device id is out of range or the GPU lacks DirectX 12)',
      fix: 'update the graphics driver (DirectML needs a DirectX 12 GPU on Windows 10 1903 or newer) or choose another DirectML device id',
      missing: 'DirectX 12 adapter',
    };
  }
  if (/887A0005|887A0006|887A0007|DXGI_ERROR_DEVICE_(REMOVED|HUNG|RESET)/i.test(text)) {
    return { reason: 'the GPU was removed or reset by Windows during the test (DXGI device removed/hung)', fix: 'update the graphics driver and restart Hintbrush' };
  }
  const adapter = /Failed to get a WebGPU adapter[^\n]*/.exec(text);
  if (adapter && /Couldn't load Vulkan: libvulkan\.so\.1/.test(text)) {
    return {
      reason: `${adapter[0].trim()}: the Vulkan loader libvulkan.so.1 was not found`,
      fix: 'install the Vulkan loader and a Vulkan driver (Debian/Ubuntu: sudo apt install libvulkan1 mesa-vulkan-drivers)',
      missing: 'libvulkan.so.1',
    };
  }
  if (adapter) {
    return {
      reason: adapter[0].trim(),
      fix: 'WebGPU needs a Vulkan (Linux), Direct3D 12 (Windows) or Metal (macOS) driver; on Linux check `vulkaninfo --summary`',
      missing: 'WebGPU adapter',
    };
  }
  if (/backend not found|is not supported in this build/i.test(text)) {
    return { reason: `this onnxruntime-node build has no ${title} provider`, fix: '' };
  }
  if (/Failed to load (shared )?library|cannot open shared object/i.test(text)) {
    return {
      reason: `the ${title} provider libraries could not be loaded`,
      fix: provider === 'cuda' ? 'install CUDA 12 and cuDNN 9; `hintbrush probe` then names any file still missing' : '',
    };
  }
  const line = message.split('\n').find((l) => l.trim()) ?? message;
  return { reason: line.length > 300 ? `${line.slice(0, 300)}...` : line, fix: '' };
}

/**
 * Whether ORT's message is a device or host allocation failure (the run may fit at a smaller size). On WebGPU
 * JS gets only Dawn's follow-up error about the buffer that could not be created (the out-of-memory itself is
 * in ORT's log; captured in ort-provider-errors.captured.ts): a buffer too large for the device either way.
 */
export function isOutOfMemory(message: string): boolean {
  return /\[Invalid Buffer[^\]]*\] is invalid due to a previous error|out of memory|bad_alloc|Failed to allocate|CUDNN_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation|CUDA failure 2\b|CUBLAS_STATUS_ALLOC_FAILED|E_OUTOFMEMORY|8007000E|887A0005|DXGI_ERROR_DEVICE_REMOVED|VK_ERROR_OUT_OF_DEVICE_MEMORY|VK_ERROR_OUT_OF_HOST_MEMORY|Not enough memory|exceeds the max buffer size|maxBufferSize|maxStorageBufferBindingSize/i.test(
    message,
  );
}
