// What main (or the CLI) sends the engine's 'train' task, what it answers, and the progress line it reports.
// Paths are absolute and already resolved against the library by main; the engine never chooses files itself
// except inside `runDir` (checkpoint, sample LoRA) and `cacheDir` (latents and text embeddings).

import type { DataItem } from '../training/data-cache.ts';
import { TaskError } from '../protocol.ts';

export interface TrainPayload {
  /** 'train' runs the steps; 'calibrate' times a few steps on made-up data at `resolution`. */
  mode: 'train' | 'calibrate';
  recipe: 'style' | 'ctrlora';
  checkpoint: string;
  /** ctrlora: the Base ControlNet. */
  base: string | null;
  items: DataItem[];
  rank: number;
  /** style: kohya's network alpha. */
  alpha: number;
  lr: number;
  batchSize: number;
  steps: number;
  seed: number;
  textEncoder: boolean;
  /** calibrate: the square bucket side. */
  resolution: number;
  sampleEvery: number;
  samplePrompt: string;
  checkpointEvery: number;
  runDir: string;
  cacheDir: string;
  /** Where the trained file goes (atomically, at the end). */
  output: string;
  /** Continue from runDir's checkpoint when there is one. */
  resume: boolean;
  /** 'auto': float16 with loss scaling on GPU providers, float32 on the CPU. */
  compute?: 'auto' | 'float16' | 'float32';
  /** Recompute activations in the backward pass (default true: far less memory for a third more time). */
  recompute?: boolean;
  /** calibrate: timed steps after the warm-up step (default 3). */
  calibrationSteps?: number;
  /** Recorded in the file's metadata. */
  info: {
    outputName: string;
    datasetName: string;
    condition: string;
    checkpointName: string;
    checkpointHash: string;
    baseName: string;
    settings: unknown;
  };
}

export interface TrainedResult {
  kind: 'trained';
  output: string;
  steps: number;
  losses: number[];
  seconds: number;
  provider: string;
  compute: 'float16' | 'float32';
}

export interface CalibratedResult {
  kind: 'calibrated';
  provider: string;
  mixedPrecision: boolean;
  secondsPerStep: number;
  peakMemoryBytes: number;
  /** Building and compiling the step graph (the first step's extra time). */
  buildSeconds: number;
}

export type TrainTaskResult = TrainedResult | CalibratedResult;

/** The progress line of a training step: main reads loss and ETA back from it (parseTrainProgress). */
export function formatTrainProgress(loss: number, etaSeconds: number): string {
  const eta = etaSeconds >= 3600 ? `${Math.floor(etaSeconds / 3600)} h ${Math.round((etaSeconds % 3600) / 60)} min` : etaSeconds >= 60 ? `${Math.floor(etaSeconds / 60)} min ${Math.round(etaSeconds % 60)} s` : `${Math.round(etaSeconds)} s`;
  return `loss ${loss.toPrecision(6)}, about ${eta} left [eta ${Math.round(etaSeconds)}]`;
}

export function parseTrainProgress(message: string): { loss: number; etaSeconds: number } | null {
  const m = /^loss (\S+), .*\[eta (\d+)\]$/.exec(message);
  return m ? { loss: Number(m[1]), etaSeconds: Number(m[2]) } : null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Shape checks (main validated the values; this catches a caller that built the payload wrong). */
export function checkTrainPayload(raw: unknown): TrainPayload {
  const bad = (what: string) => new TaskError('bad-request', `train: ${what}`);
  if (!isObject(raw)) throw bad('the payload must be an object');
  const p = raw as unknown as TrainPayload;
  if (p.mode !== 'train' && p.mode !== 'calibrate') throw bad("mode must be 'train' or 'calibrate'");
  if (p.recipe !== 'style' && p.recipe !== 'ctrlora') throw bad("recipe must be 'style' or 'ctrlora'");
  if (typeof p.checkpoint !== 'string' || !p.checkpoint) throw bad('checkpoint must be a path');
  if (p.recipe === 'ctrlora' && (typeof p.base !== 'string' || !p.base)) throw bad('the ctrlora recipe needs a base');
  for (const [name, v, lo, hi] of [
    ['rank', p.rank, 1, 1024],
    ['batchSize', p.batchSize, 1, 64],
    ['steps', p.steps, 1, 1_000_000],
    ['seed', p.seed, 0, 2 ** 32 - 1],
    ['sampleEvery', p.sampleEvery, 0, 1_000_000],
    ['checkpointEvery', p.checkpointEvery, 1, 1_000_000],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < lo || v > hi) throw bad(`${name} must be an integer from ${lo} to ${hi}`);
  }
  if (!(p.lr > 0 && p.lr < 1) || !(p.alpha > 0)) throw bad('lr must be in (0, 1) and alpha above 0');
  if (p.mode === 'train') {
    if (!Array.isArray(p.items) || p.items.length === 0) throw bad('a training run needs dataset items');
    for (const it of p.items) {
      if (!isObject(it) || typeof it.image !== 'string' || !isObject(it.bucket) || it.bucket.width % 64 !== 0 || it.bucket.height % 64 !== 0) throw bad('every item needs an image path and a bucket (multiples of 64)');
      if (p.recipe === 'ctrlora' && typeof it.condition !== 'string') throw bad(`item ${it.id} has no condition image`);
    }
    for (const key of ['runDir', 'cacheDir', 'output'] as const) if (typeof p[key] !== 'string' || !p[key]) throw bad(`${key} must be a path`);
  } else if (!Number.isSafeInteger(p.resolution) || p.resolution % 64 !== 0 || p.resolution < 64) throw bad('resolution must be a multiple of 64');
  if (!isObject(p.info)) throw bad('info is missing');
  return p;
}
