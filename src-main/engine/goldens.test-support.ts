// Test support for engine tests: the golden tensors of test/fixtures/sd15-tiny and the comparison the fixture
// README defines (max |a - b| / max |b|). Goldens are read through the project's own safetensors reader.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors } from '../formats/safetensors.ts';
import { emitOnnx } from './graph/emit-onnx.ts';
import type { Node } from './graph/node.ts';
import { ModelSession, type TensorData } from './runtime/session.ts';
import type { TensorFile } from '../formats/tensor-file.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const fixtureDir = path.join(repoRoot, 'test', 'fixtures', 'sd15-tiny');
export const fixture = (name: string) => path.join(fixtureDir, name);

const opened = new Map<string, TensorFile>();
export function fixtureFile(name: string): TensorFile {
  let f = opened.get(name);
  if (!f) {
    f = openSafetensors(fixture(name));
    opened.set(name, f);
  }
  return f;
}

export interface Golden {
  shape: readonly number[];
  data: Float32Array;
}

export function golden(name: string, file = 'reference.safetensors'): Golden {
  const f = fixtureFile(file);
  const entry = f.tensors.get(name);
  if (!entry) throw new Error(`no golden tensor '${name}' in ${file}`);
  return { shape: entry.shape, data: f.readFloat32(name) };
}

/** max |a - b| / max |b|, the fixture README's tolerance measure. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != expected ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / maxRef;
}

export const MODULE_TOLERANCE = 1e-4;
export const PIPELINE_TOLERANCE = 1e-3;

/** Feeds for a UNet (or ControlNet) graph from the `unet.*` goldens: batch 2, 32x32 latents, 77 tokens. */
export function unetFeeds() {
  const x = golden('unet.x');
  return {
    sample: { dtype: 'float32' as const, shape: x.shape, data: x.data },
    timestep: { dtype: 'float32' as const, shape: [2], data: golden('unet.t').data },
    context: { dtype: 'float32' as const, shape: [2, 77, 32], data: golden('unet.context').data },
  };
}

export interface ReferenceJson {
  pipeline: { prompt: string; negative: string; width: number; height: number; steps: number; cfg: number; seed: number };
  tokens: Record<string, number[]>;
  schedulers: Record<string, Record<string, unknown>>;
}

let reference: ReferenceJson | null = null;
export function referenceJson(): ReferenceJson {
  reference ??= JSON.parse(readFileSync(fixture('reference.json'), 'utf8')) as ReferenceJson;
  return reference;
}

/** Emits `outputs`, runs them once on the CPU provider with the feeds the graph takes, and releases the session. */
export async function runOnCpu(outputs: Record<string, Node>, feeds: Record<string, TensorData>): Promise<Record<string, Float32Array>> {
  const model = emitOnnx(outputs);
  const session = await ModelSession.create(model, { providers: ['cpu'] });
  try {
    const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => model.inputNames.includes(k)));
    const result = await session.run(used);
    return Object.fromEntries(Object.entries(result).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}
