// Test support for training: small dataset folders of made-up pictures (PNG), with captions and condition pairs,
// and a 'train' payload over the tiny fixture model at 64x64 (latents 8x8: the tiny UNet's smallest size).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodePng } from '../../formats/png.ts';
import { fixture } from '../goldens.test-support.ts';
import type { TrainPayload } from '../tasks/train-payload.ts';

/** A picture of stripes and a disc whose place depends on `seed`: different pictures, smooth enough to encode. */
export function testPicture(width: number, height: number, seed: number): Buffer {
  const data = new Uint8Array(width * height * 3);
  const cx = (seed * 37) % width;
  const cy = (seed * 53) % height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < (Math.min(width, height) / 4) ** 2;
      data[i] = inDisc ? 230 : (x * 4 + seed * 20) % 256;
      data[i + 1] = inDisc ? 40 : (y * 3) % 256;
      data[i + 2] = (seed * 70) % 256;
    }
  }
  return encodePng({ width, height, channels: 3, data });
}

/** The condition of a test picture: its disc as white on black (an "edge-like" map). */
export function testCondition(width: number, height: number, seed: number): Buffer {
  const data = new Uint8Array(width * height);
  const cx = (seed * 37) % width;
  const cy = (seed * 53) % height;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (x - cx) ** 2 + (y - cy) ** 2 < (Math.min(width, height) / 4) ** 2 ? 255 : 0;
  return encodePng({ width, height, channels: 1, data });
}

/** A folder of `count` pictures `img<i>.png` with captions `img<i>.txt`, and `img<i>.cond.png` when `pairs`. */
export function makeDataset(count: number, opts: { pairs?: boolean; size?: [number, number]; dir?: string } = {}): string {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-dataset-'));
  const [w, h] = opts.size ?? [64, 64];
  for (let i = 0; i < count; i++) {
    fs.writeFileSync(path.join(dir, `img${i}.png`), testPicture(w, h, i + 1));
    fs.writeFileSync(path.join(dir, `img${i}.txt`), `hbstyle, picture ${i}, red disc`);
    if (opts.pairs) fs.writeFileSync(path.join(dir, `img${i}.cond.png`), testCondition(w, h, i + 1));
  }
  return dir;
}

/** A 'train' payload over the tiny model for the pictures of `makeDataset(count)` in `dataset`, at 64x64. */
export function tinyPayload(recipe: 'style' | 'ctrlora', dataset: string, count: number, work: string, overrides: Partial<TrainPayload> = {}): TrainPayload {
  return {
    mode: 'train',
    recipe,
    checkpoint: fixture('tiny-sd15.safetensors'),
    base: recipe === 'ctrlora' ? fixture('tiny-ctrlora-base.safetensors') : null,
    items: Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      image: path.join(dataset, `img${i}.png`),
      condition: recipe === 'ctrlora' ? path.join(dataset, `img${i}.cond.png`) : null,
      caption: `hbstyle, picture ${i}, red disc`,
      bucket: { width: 64, height: 64 },
    })),
    rank: 4,
    alpha: 2,
    lr: 1e-3,
    batchSize: 2,
    steps: 3,
    seed: 1234,
    textEncoder: false,
    resolution: 64,
    sampleEvery: 0,
    samplePrompt: '',
    checkpointEvery: 2,
    runDir: path.join(work, 'run'),
    cacheDir: path.join(work, 'cache'),
    output: path.join(work, 'out', `${recipe}.safetensors`),
    resume: false,
    compute: 'float32',
    info: { outputName: `test-${recipe}`, datasetName: 'testset', condition: 'disc', checkpointName: 'tiny-sd15', checkpointHash: '0123456789', baseName: 'tiny-ctrlora-base', settings: { recipe } },
    ...overrides,
  };
}
