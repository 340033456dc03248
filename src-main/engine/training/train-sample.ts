// Sample pictures during training, through the generation pipeline exactly as a user would make them: the
// current parameters are written to a temporary file (kohya LoRA, or CtrLoRA condition) and `generate` runs
// with it at a fixed seed, so successive samples differ only by what training changed. A fresh ModelRuntime
// per sample (disposed after): its sessions are keyed by file path, and the file's contents change every time.
// Also: how much memory this process (or the GPU) holds, for calibration.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encodePng } from '../../formats/png.ts';
import { generate } from '../pipeline/generate.ts';
import { imageToRgb8 } from '../pipeline/image-tensors.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import type { ProviderName } from '../runtime/session.ts';
import type { Bucket } from './buckets.ts';
import { fitted, toTensor } from './data-cache.ts';
import { writeCtrLoraCondition, writeStyleLora, type StyleLoraInfo, type WrittenParam } from './lora-writers.ts';

export interface SampleSpec {
  recipe: 'style' | 'ctrlora';
  checkpoint: string;
  base: string | null;
  prompt: string;
  seed: number;
  size: Bucket;
  /** ctrlora: the condition picture the sample is steered by. */
  conditionImage: string | null;
  steps: number;
  compute: 'float16' | 'float32';
  providers: ProviderName[];
  runDir: string;
}

/** One sample picture as PNG bytes. */
export async function samplePicture(spec: SampleSpec, params: readonly WrittenParam[], styleInfo: StyleLoraInfo, signal?: AbortSignal): Promise<Uint8Array> {
  fs.mkdirSync(spec.runDir, { recursive: true });
  const file = path.join(spec.runDir, 'sample-model.safetensors');
  if (spec.recipe === 'style') writeStyleLora(file, params, styleInfo, 'F32');
  else writeCtrLoraCondition(file, params, { outputName: 'sample', condition: 'sample', rank: 0, steps: 0, lr: 0, baseName: '', baseModelName: '', settings: null });
  const runtime = new ModelRuntime(spec.compute, spec.providers);
  try {
    const { width, height } = spec.size;
    const controls =
      spec.recipe === 'ctrlora'
        ? [{ kind: 'ctrlora' as const, base: spec.base!, path: file, image: toTensor(await fitted(spec.conditionImage!, spec.size), 1, 0), weight: 1, start: 0, end: 1 }]
        : [];
    const loras = spec.recipe === 'style' ? [{ path: file, strength: 1 }] : [];
    const result = await generate(
      runtime,
      { checkpoint: spec.checkpoint, prompt: spec.prompt, negative: '', width, height, steps: spec.steps, cfg: 7.5, seed: spec.seed, sampler: 'ddim', clipSkip: 1, controls, loras },
      { signal },
    );
    return new Uint8Array(encodePng({ width, height, channels: 3, data: imageToRgb8(result.image.data, height, width) }));
  } finally {
    await runtime.dispose();
    fs.rmSync(file, { force: true });
  }
}

/** Peak resident memory of this process while `poll` runs: sampled every 50 ms. */
export class MemoryWatch {
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage.rss())), 50);
    this.timer.unref();
  }

  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage.rss());
  }
}

/** Memory the GPU has in use now (nvidia-smi), or null where there is no NVIDIA tool to ask. */
export function gpuMemoryUsed(): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { timeout: 5000 }, (err, stdout) => {
      const mib = Number(String(stdout).split('\n')[0]);
      resolve(err || !Number.isFinite(mib) ? null : mib * 1024 * 1024);
    });
  });
}
