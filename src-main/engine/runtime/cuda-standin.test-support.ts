// A stand-in for onnxruntime-node's CUDA provider, so that ORT's own loading path produces its real error texts
// on a machine without CUDA (the real libonnxruntime_providers_cuda.so comes from NuGet, out of reach offline).
//
// How: a private copy of onnxruntime-node in `dir` (its JS, a copy of its binding and a link to the real
// libonnxruntime.so.1: ORT looks for provider libraries next to the libonnxruntime it was loaded as), plus
//  - libonnxruntime_providers_shared.so: the two functions ORT's provider bridge calls in the real one
//    (Provider_SetHost/Provider_GetHost), and
//  - libonnxruntime_providers_cuda.so: linked against libcudnn.so.9 and libcublasLt.so.12 as the real one is.
//    Those two were stub libraries with the right sonames at link time and are deleted afterwards (only the
//    cuDNN one is kept, in its own folder, for the "cuDNN found, cuBLASLt missing" case).
// ORT then dlopens the stand-in and reports glibc's loader error in its log, exactly as with the real file.
// Linux x64 with a C++ compiler only (`canBuildCudaStandIn`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface CudaStandIn {
  /** onnxruntime-node's entry file in the private copy: pass it as captureProviderFailure's ortEntry. */
  ortEntry: string;
  /** A folder holding only a stub libcudnn.so.9 (put it on LD_LIBRARY_PATH to get past cuDNN). */
  cudnnOnlyDir: string;
}

const require = createRequire(import.meta.url);

export function canBuildCudaStandIn(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  try {
    execFileSync('c++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function compile(source: string, out: string, args: string[] = []): void {
  const file = `${out}.cc`;
  fs.writeFileSync(file, source);
  execFileSync('c++', ['-shared', '-fPIC', '-o', out, file, ...args], { stdio: 'pipe' });
  fs.rmSync(file);
}

/**
 * Builds the private onnxruntime-node copy in `dir`. `providerLibraries: false` leaves the provider libraries
 * out (what an install without the NuGet download has).
 */
export function buildCudaStandIn(dir: string, providerLibraries = true): CudaStandIn {
  const realOrt = path.dirname(require.resolve('onnxruntime-node/package.json'));
  // onnxruntime-common exports no package.json: find its folder the way Node would from onnxruntime-node.
  const realCommon = [path.join(realOrt, 'node_modules', 'onnxruntime-common'), path.join(realOrt, '..', 'onnxruntime-common')].find((d) => fs.existsSync(d))!;
  const pkg = path.join(dir, 'node_modules', 'onnxruntime-node');
  const bin = path.join(pkg, 'bin', 'napi-v6', 'linux', 'x64');
  fs.mkdirSync(bin, { recursive: true });
  fs.cpSync(path.join(realOrt, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(realOrt, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(realCommon, path.join(dir, 'node_modules', 'onnxruntime-common'));
  const realBin = path.join(realOrt, 'bin', 'napi-v6', 'linux', 'x64');
  // The binding is copied (Node loads a symlinked addon from its real folder, whose $ORIGIN would be the
  // real one); libonnxruntime is linked, and dladdr reports it under the link's path.
  fs.copyFileSync(path.join(realBin, 'onnxruntime_binding.node'), path.join(bin, 'onnxruntime_binding.node'));
  fs.symlinkSync(path.join(realBin, 'libonnxruntime.so.1'), path.join(bin, 'libonnxruntime.so.1'));

  const cudnnOnlyDir = path.join(dir, 'cudnn-only');
  const stubs = path.join(dir, 'link-stubs');
  fs.mkdirSync(cudnnOnlyDir);
  fs.mkdirSync(stubs);
  compile('extern "C" int cudnnCreate(void* h) { return 0; }', path.join(cudnnOnlyDir, 'libcudnn.so.9'), ['-Wl,-soname,libcudnn.so.9']);
  if (providerLibraries) {
    compile('extern "C" int cublasLtCreate(void* h) { return 0; }', path.join(stubs, 'libcublasLt.so.12'), ['-Wl,-soname,libcublasLt.so.12']);
    compile(
      'static void* host; extern "C" void Provider_SetHost(void* p) { host = p; } extern "C" void* Provider_GetHost() { return host; }',
      path.join(bin, 'libonnxruntime_providers_shared.so'),
    );
    compile(
      'extern "C" int cudnnCreate(void*); extern "C" int cublasLtCreate(void*);\n' +
        'extern "C" void* GetProvider() { cudnnCreate(0); cublasLtCreate(0); return 0; }',
      path.join(bin, 'libonnxruntime_providers_cuda.so'),
      [`-L${cudnnOnlyDir}`, `-L${stubs}`, '-Wl,--no-as-needed', '-l:libcudnn.so.9', '-l:libcublasLt.so.12'],
    );
  }
  fs.rmSync(stubs, { recursive: true });
  return { ortEntry: path.join(pkg, 'dist', 'index.js'), cudnnOnlyDir };
}
