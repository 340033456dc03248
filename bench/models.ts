// The models the bench measures: the tiny fixture model, and a full-size SD1.5-architecture checkpoint and
// ControlNet with random fp16 weights, generated once into a cache folder outside the repository (1.7 GB and
// 0.7 GB; the timings do not depend on the values, only on the architecture and dtype).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from '../src-main/engine/goldens.test-support.ts';
import { writeRandomCheckpoint } from '../src-main/engine/models/random-checkpoint.test-support.ts';
import { cnxsLayout, ctrLoraBaseLayout, ctrLoraConditionLayout } from '../src-main/engine/models/control-layouts.test-support.ts';
import { checkpointLayout, controlNetLayout, SD15_ARCH } from '../src-main/engine/models/sd15-layout.test-support.ts';
import type { BenchModel, ModelName } from './scenario.ts';

export function cacheDir(): string {
  return process.env.HINTBRUSH_BENCH_CACHE ?? path.join(os.tmpdir(), 'hintbrush-bench');
}

// The version in the names changes whenever the layout or the random init changes, so stale files are not reused.
const FULL_CHECKPOINT = 'sd15-random-f16-v1.safetensors';
const FULL_CONTROLNET = 'controlnet-sd15-random-f16-v1.safetensors';
// CtrLoRA at the release's rank (128); ControlNet-XS with a control stream 0.1 x the UNet's width (32 channels
// first, in the range of the released SD1.5 ones, far narrower than the tiny fixture's ratio 1).
const FULL_CTRLORA_BASE = 'ctrlora-base-sd15-random-f16-v1.safetensors';
const FULL_CTRLORA_CONDITIONS = ['ctrlora-cond-a-sd15-random-f16-v1.safetensors', 'ctrlora-cond-b-sd15-random-f16-v1.safetensors'] as const;
const FULL_CNXS = 'cnxs-sd15-r0.1-random-f16-v1.safetensors';
export const FULL_CNXS_RATIO = 0.1;

export function benchModel(name: ModelName): BenchModel {
  if (name === 'tiny') {
    return {
      name,
      title: 'tiny fixture (UNet 32, fp32 file)',
      checkpoint: fixture('tiny-sd15.safetensors'),
      controlNet: fixture('tiny-controlnet.safetensors'),
      ctrloraBase: fixture('tiny-ctrlora-base.safetensors'),
      ctrloraConditions: [fixture('tiny-ctrlora-edge.safetensors'), fixture('tiny-ctrlora-blob.ckpt')],
      cnxs: fixture('tiny-cnxs.ckpt'),
      unetLatent: 32,
      vaeLatent: 32,
      contextDim: 32,
    };
  }
  return {
    name,
    title: 'SD1.5 architecture (UNet 320, random fp16 file)',
    checkpoint: path.join(cacheDir(), FULL_CHECKPOINT),
    controlNet: path.join(cacheDir(), FULL_CONTROLNET),
    ctrloraBase: path.join(cacheDir(), FULL_CTRLORA_BASE),
    ctrloraConditions: [path.join(cacheDir(), FULL_CTRLORA_CONDITIONS[0]), path.join(cacheDir(), FULL_CTRLORA_CONDITIONS[1])],
    cnxs: path.join(cacheDir(), FULL_CNXS),
    unetLatent: 64,
    vaeLatent: 64,
    contextDim: SD15_ARCH.unet.contextDim,
  };
}

function generate(file: string, what: string, write: (onProgress: (done: number, total: number) => void) => void): void {
  if (fs.existsSync(file)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const t0 = performance.now();
  let shown = -1;
  write((done, total) => {
    const pct = Math.floor((100 * done) / total);
    if (pct >= shown + 10) {
      shown = pct;
      process.stderr.write(`\r  writing ${what}: ${pct}%`);
    }
  });
  const size = fs.statSync(file).size;
  process.stderr.write(`\r  wrote ${what}: ${(size / 2 ** 30).toFixed(2)} GiB in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${file}\n`);
}

/** Creates the full-size files if the cache does not hold them yet. */
export function ensureFullModels(): void {
  const model = benchModel('full');
  generate(model.checkpoint, 'full-size SD1.5 checkpoint (fp16)', (onProgress) =>
    writeRandomCheckpoint(model.checkpoint, checkpointLayout(SD15_ARCH), 'F16', 1, { metadata: { format: 'pt' }, onProgress }),
  );
  generate(model.controlNet, 'full-size ControlNet (fp16)', (onProgress) =>
    writeRandomCheckpoint(model.controlNet, controlNetLayout(SD15_ARCH.unet), 'F16', 2, { onProgress }),
  );
  generate(model.ctrloraBase, 'full-size CtrLoRA Base ControlNet (fp16)', (onProgress) =>
    writeRandomCheckpoint(model.ctrloraBase, ctrLoraBaseLayout(SD15_ARCH.unet), 'F16', 3, { onProgress }),
  );
  model.ctrloraConditions.forEach((file, i) =>
    generate(file, `full-size CtrLoRA condition ${i + 1} (fp16)`, (onProgress) => writeRandomCheckpoint(file, ctrLoraConditionLayout(SD15_ARCH.unet), 'F16', 4 + i, { onProgress })),
  );
  generate(model.cnxs, `full-size ControlNet-XS, width ratio ${FULL_CNXS_RATIO} (fp16)`, (onProgress) =>
    writeRandomCheckpoint(model.cnxs, cnxsLayout(SD15_ARCH.unet, FULL_CNXS_RATIO), 'F16', 6, { onProgress }),
  );
}
