// WebGPU on the CPU: Debian's chromium package ships SwiftShader, a Vulkan driver that runs on the CPU, with its
// own Vulkan loader (libvulkan.so.1) beside it. Pointed at it, onnxruntime-node's WebGPU provider (Dawn on
// Vulkan) finds an adapter on a machine without a GPU, so the tests exercise the GPU code path for real.
//
// Both variables must be in the environment before the process loads onnxruntime (the dynamic loader reads
// LD_LIBRARY_PATH at start-up, when Dawn looks for libvulkan.so.1 it is too late to set it), so WebGPU work runs
// in a child process started with swiftShaderEnv().

import { existsSync } from 'node:fs';
import path from 'node:path';

/** Where Debian's chromium package puts SwiftShader's Vulkan ICD manifest. */
export const DEBIAN_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export class SwiftShaderMissing extends Error {
  readonly kind = 'swiftshader-missing';
}

/**
 * The environment of a child process whose WebGPU provider runs on SwiftShader (and is the provider it asks for).
 * Throws SwiftShaderMissing, naming the missing file and the package that has it, when SwiftShader is absent.
 */
export function swiftShaderEnv(icd = process.env.HINTBRUSH_SWIFTSHADER_ICD ?? DEBIAN_SWIFTSHADER_ICD): NodeJS.ProcessEnv {
  const dir = path.dirname(icd);
  const loader = path.join(dir, 'libvulkan.so.1');
  for (const file of [icd, loader, path.join(dir, 'libvk_swiftshader.so')]) {
    if (!existsSync(file)) {
      throw new SwiftShaderMissing(
        `SwiftShader (the CPU Vulkan driver the WebGPU tests run on) is missing: ${file} not found. ` +
          `Install Debian's chromium package (apt-get install chromium), or set HINTBRUSH_SWIFTSHADER_ICD to a vk_swiftshader_icd.json ` +
          `that has libvk_swiftshader.so and libvulkan.so.1 beside it.`,
      );
    }
  }
  const libraryPath = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { ...process.env, VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: libraryPath, HINTBRUSH_PROVIDER: 'webgpu' };
}
