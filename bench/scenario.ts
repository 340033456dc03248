// What a benchmark scenario is, and the helpers every scenario shares. A scenario runs in a fresh child process
// (bench/child.ts) so its peak memory is its own; it returns named timings in milliseconds, one of which is its
// headline number, plus a line saying what exactly was measured.

import { emitOnnx } from '../src-main/engine/graph/emit-onnx.ts';
import type { Node } from '../src-main/engine/graph/node.ts';
import type { DataType } from '../src-main/engine/graph/dtype.ts';
import { createFusedSession, type FusionOptions, type Fusions } from '../src-main/engine/runtime/fusions.ts';
import { configureOptimizedModelCache } from '../src-main/engine/runtime/optimized-model-cache.ts';
import { type CpuMemoryPolicy, FOLDED_INFERENCE, LEAN_INFERENCE, ModelSession, type ProviderName, type TensorData } from '../src-main/engine/runtime/session.ts';

export type ModelName = 'tiny' | 'full';

// The engine's optimized-model cache, only where HINTBRUSH_ORT_CACHE names a folder: by default every scenario
// measures sessions made from scratch.
configureOptimizedModelCache('', process.env.HINTBRUSH_ORT_CACHE);

/** One model set to measure: a checkpoint, a ControlNet for it, and the sizes each scenario uses on it. */
export interface BenchModel {
  name: ModelName;
  title: string;
  checkpoint: string;
  controlNet: string;
  /** CtrLoRA Base ControlNet and two condition LoRAs for it. */
  ctrloraBase: string;
  ctrloraConditions: readonly [string, string];
  /** A ControlNet-XS for the checkpoint. */
  cnxs: string;
  /** Latent side for UNet evaluations (batch 2). */
  unetLatent: number;
  /** Latent side for VAE decodes (image side = 8 x this). */
  vaeLatent: number;
  contextDim: number;
}

export interface BenchOptions {
  compute: DataType;
  /** Execution provider (`--provider`, default cpu). */
  provider: ProviderName;
  /**
   * Fused ops (`--fusions`): 'default' = what the engine gives this provider (runtime/fusions.ts), 'plain' = none,
   * or a list of 'attention' and 'groupnorm'.
   */
  fusions: string;
  /**
   * `--fold-weights`: the big models' weight casts folded once (FOLDED_INFERENCE, as HINTBRUSH_CPU_WEIGHTS=fold
   * gives the engine) instead of cast at every run, to measure what the memory-first policy trades.
   */
  foldWeights: boolean;
  /** Timed repetitions after the warm-up run (tiny models; full-size ones use `fullRuns`). */
  runs: number;
  fullRuns: number;
}

export interface ScenarioResult {
  /** Timings in milliseconds. */
  metrics: Record<string, number>;
  /** What was measured, in words (sizes, batch). */
  detail: string;
}

export interface Scenario {
  name: string;
  title: string;
  /** The metric shown in the summary table. */
  headline: string;
  models: readonly ModelName[];
  run(model: BenchModel, opts: BenchOptions): Promise<ScenarioResult>;
}

export function now(): number {
  return performance.now();
}

/** Times one call. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<[T, number]> {
  const t0 = now();
  const value = await fn();
  return [value, now() - t0];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function runsFor(model: BenchModel, opts: BenchOptions): number {
  return model.name === 'full' ? opts.fullRuns : opts.runs;
}

/** The fusion overrides `--fusions` asks for, for the engine's session code. */
export function fusionOverrides(opts: BenchOptions): FusionOptions['fusions'] {
  if (opts.fusions === 'default') return undefined;
  const names = opts.fusions === 'plain' ? [] : opts.fusions.split(',');
  for (const n of names) if (n !== 'attention' && n !== 'groupnorm') throw new Error(`--fusions takes default, plain or attention,groupnorm, not '${n}'`);
  return { [opts.provider]: { fusedAttention: names.includes('attention'), fusedGroupNorm: names.includes('groupnorm') } };
}

/**
 * An inference session as the engine makes it (fused ops where the provider has them, the plain graph where it
 * refuses them) on the bench's provider; `buildMs` covers building and emitting the graph, `sessionMs` the rest.
 */
export async function benchSession(
  build: (fusions: Fusions) => Record<string, Node>,
  opts: BenchOptions,
  cpuMemory: CpuMemoryPolicy = LEAN_INFERENCE,
): Promise<{ session: ModelSession; buildMs: number; sessionMs: number; graph: string }> {
  let buildMs = 0;
  const timedBuild = (fusions: Fusions) => {
    const t0 = now();
    const outputs = build(fusions);
    buildMs += now() - t0;
    return outputs;
  };
  const used = opts.foldWeights && cpuMemory === LEAN_INFERENCE ? FOLDED_INFERENCE : cpuMemory;
  const t0 = now();
  // cacheOptimized: only when HINTBRUSH_ORT_CACHE names a folder (run twice: the second run loads what the first saved)
  const session = await createFusedSession(timedBuild, 'bench', { providers: [opts.provider], fusions: fusionOverrides(opts), cpuMemory: used, cacheOptimized: true });
  const sessionMs = now() - t0 - buildMs;
  const fused = Buffer.from(session.model.bytes);
  const ops = [fused.includes('MultiHeadAttention') ? 'fused attention' : '', fused.includes('GroupNorm') ? 'fused GroupNorm' : ''].filter(Boolean);
  const refused = session.fallbacks.map((f) => `; ${f.fused} refused: ${f.reason}`).join('');
  const settings = `${used.foldWeightCasts ? 'casts folded' : 'casts per run'}${used.layoutPass ? ', NCHWc' : ''}, no arena`;
  return { session, buildMs, sessionMs, graph: `${session.provider}, ${ops.join(' + ') || 'plain graph'}, ${settings}${refused}` };
}

/** Emits the graph and creates a plain CPU session, timing each step (training graphs and their forward pass). */
export async function cpuSession(outputs: Record<string, Node>): Promise<{ session: ModelSession; emitMs: number; sessionMs: number }> {
  const [model, emitMs] = await timed(() => emitOnnx(outputs));
  const [session, sessionMs] = await timed(() => ModelSession.create(model, { providers: ['cpu'] }));
  return { session, emitMs, sessionMs };
}

/**
 * Throws unless every output value is finite: a timing of a graph that overflows (random weights at full size,
 * fp16 compute) would measure nothing useful. Returns the largest |value|, for the report.
 */
export function checkFinite(outputs: Record<string, TensorData>): number {
  let max = 0;
  for (const [name, t] of Object.entries(outputs)) {
    for (const v of t.data as Float32Array) {
      if (!Number.isFinite(v)) throw new Error(`output '${name}' holds a non-finite value (${v})`);
      max = Math.max(max, Math.abs(v));
    }
  }
  return max;
}

/**
 * A warm-up run, then `runs` timed runs: their median and best (the best is the better estimate on a machine
 * shared with other work), the warm-up time, the warm-up's outputs and their largest |value| (checked finite).
 */
export async function steadyRuns(
  session: ModelSession,
  feeds: Record<string, TensorData>,
  runs: number,
): Promise<{ warmupMs: number; runMs: number; bestMs: number; maxAbs: number; first: Record<string, TensorData> }> {
  const [first, warmupMs] = await timed(() => session.run(feeds));
  const maxAbs = checkFinite(first);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(() => session.run(feeds)))[1]);
  return { warmupMs, runMs: median(times), bestMs: Math.min(...times), maxAbs, first };
}

/** Deterministic values in [-scale, scale]. */
export function pseudoRandom(shape: readonly number[], seed: number, scale = 1): TensorData {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return { dtype: 'float32', shape, data };
}

/** UNet feeds: batch 2 latents, two timesteps, a 77-token context. */
export function unetFeeds(model: BenchModel, latent: number): Record<string, TensorData> {
  return {
    sample: pseudoRandom([2, 4, latent, latent], 1),
    timestep: { dtype: 'float32', shape: [2], data: Float32Array.of(999, 500) },
    context: pseudoRandom([2, 77, model.contextDim], 2),
  };
}
