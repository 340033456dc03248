// Test support for pipeline tests: a generate request over the tiny fixture checkpoint with the pipeline goldens'
// settings (pipe.*: 256x256, 10 DDIM steps, CFG 7.5, seed 42, their prompt and negative), which a test narrows
// with overrides, and a region whose mask is painted by a function.

import { fixture, referenceJson } from '../goldens.test-support.ts';
import type { GenerateRequest } from './generate.ts';
import type { RegionRequest } from './regions.ts';

export function goldenRequest(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  const p = referenceJson().pipeline;
  return {
    checkpoint: fixture('tiny-sd15.safetensors'),
    prompt: p.prompt,
    negative: p.negative,
    width: p.width,
    height: p.height,
    steps: p.steps,
    cfg: p.cfg,
    seed: p.seed,
    sampler: 'ddim',
    clipSkip: 1,
    controls: [],
    loras: [],
    ...overrides,
  };
}

/** A region over a size x size picture: mask value f(x, y), no feather, not appended to the main prompt. */
export function paintedRegion(size: number, f: (x: number, y: number) => number, prompt: string, extra: Partial<RegionRequest> = {}): RegionRequest {
  const data = Float32Array.from({ length: size * size }, (_, i) => f(i % size, Math.floor(i / size)));
  return { mask: { shape: [1, 1, size, size], data }, prompt, feather: 0, appendMain: false, ...extra };
}
