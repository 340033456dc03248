// Test support: replays the training goldens (test/fixtures/sd15-tiny, training.json and control.json's
// ctrlora_train) through a TrainSession and measures every golden group the way the fixture README defines it:
// max |a - b| / max |b| over all tensors of one recipe and kind together.

import type { TensorData } from '../runtime/session.ts';
import { fixtureFile, golden } from '../goldens.test-support.ts';
import type { TrainingGraph } from './recipes/recipe.ts';
import { TrainSession, type TrainStepOptions } from './train-step.ts';

export const GRADIENT_TOLERANCE = 1e-4;
export const OPTIMIZER_TOLERANCE = 1e-3;

/** max |a - b| / max |b| over several tensors at once. */
export function groupError(pairs: readonly [ArrayLike<number>, ArrayLike<number>][]): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (const [a, b] of pairs) {
    if (a.length !== b.length) throw new Error(`length ${a.length} != expected ${b.length}`);
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
      maxRef = Math.max(maxRef, Math.abs(b[i]));
    }
  }
  return maxDiff / maxRef;
}

export interface GoldenSource {
  file: string; // training.safetensors or control.safetensors
  /** Golden name prefix of the recipe: 'style.', 'control.', 'ctrlora.train.' */
  prefix: string;
  /** Name prefix of the shared data (x0, noise, t): 'train.' or 'ctrlora.train.' */
  data: string;
  steps: number;
  /** Extra per-recipe data inputs (hint, latent), already as tensors. */
  extra: Record<string, TensorData>;
  /** Text context (ctrlora's goldens use the training context of training.safetensors). */
  context: TensorData;
}

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });

/** The data inputs of step i: x0, noise[i], t[i], alphas_cumprod[t[i]], context and the recipe's condition. */
export function stepData(src: GoldenSource, i: number): Record<string, TensorData> {
  const x0 = golden(`${src.data}x0`, src.file);
  const noise = golden(`${src.data}noise`, src.file);
  const t = golden(`${src.data}t`, src.file);
  const abar = golden('train.abar', 'training.safetensors').data;
  const per = x0.data.length;
  const batch = x0.shape[0];
  const ts = t.data.slice(i * batch, (i + 1) * batch);
  return {
    x0: f32(x0.shape, x0.data),
    noise: f32(x0.shape, noise.data.slice(i * per, (i + 1) * per)),
    timestep: f32([batch], Float32Array.from(ts)),
    alpha_bar: f32([batch], Float32Array.from(ts, (v) => abar[v])),
    context: src.context,
    ...src.extra,
  };
}

export function goldenInitial(tg: TrainingGraph, src: GoldenSource): Map<string, Float32Array> {
  return new Map(tg.params.map((p) => [p.name, golden(`${src.prefix}init.${p.name}`, src.file).data]));
}

export interface GoldenErrors {
  loss0: number;
  grad: number;
  step1: number | null; // ctrlora has no step1 goldens
  losses: number;
  final: number;
  seconds: number;
}

/** Trains from the golden initial values for src.steps steps and measures every golden group. */
export async function replayGoldens(tg: TrainingGraph, src: GoldenSource, opts: TrainStepOptions = {}): Promise<GoldenErrors> {
  const started = performance.now();
  const session = await TrainSession.create(tg, { ...opts, initial: goldenInitial(tg, src), outputGradients: true, session: { providers: ['cpu'] } });
  const names = tg.params.map((p) => p.name);
  const has = (name: string) => fixtureFile(src.file).tensors.has(name);
  try {
    const losses: number[] = [];
    let grad = 0;
    let step1: number | null = null;
    for (let i = 0; i < src.steps; i++) {
      const result = await session.step(stepData(src, i));
      losses.push(result.loss);
      if (i === 0) {
        grad = groupError(names.map((n) => [result.grads!.get(n)!, golden(`${src.prefix}grad.${n}`, src.file).data]));
        if (has(`${src.prefix}step1.${names[0]}`)) {
          const state = await session.readState();
          step1 = groupError(names.map((n) => [state.params.get(n)!, golden(`${src.prefix}step1.${n}`, src.file).data]));
        }
      }
    }
    const finalState = await session.readState();
    return {
      loss0: groupError([[[losses[0]], golden(`${src.prefix}loss0`, src.file).data]]),
      grad,
      step1,
      losses: groupError([[losses, golden(`${src.prefix}losses`, src.file).data]]),
      final: groupError(names.map((n) => [finalState.params.get(n)!, golden(`${src.prefix}final.${n}`, src.file).data])),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await session.release();
  }
}

export function describe(e: GoldenErrors): string {
  const f = (v: number | null) => (v === null ? '-' : v.toExponential(2));
  return `loss0 ${f(e.loss0)}, grad ${f(e.grad)}, step1 ${f(e.step1)}, losses ${f(e.losses)}, final ${f(e.final)} (${e.seconds.toFixed(1)} s)`;
}
