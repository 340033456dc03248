// Test support: checks the gradient rules against central finite differences, both evaluated by onnxruntime.
// The checked function's output is reduced to a scalar with fixed random weights (loss = sum(f(x) * R)), so
// every element of the output contributes. float64 where ORT has double kernels keeps the difference quotient
// exact to ~1e-8; ops with float-only kernels (Conv, ConvTranspose, Erf) run in float32 with a larger step.

import type { DataType } from './dtype.ts';
import { emitOnnx } from './emit-onnx.ts';
import { gradients } from './gradients.ts';
import { Graph, type Node } from './node.ts';
import * as op from './ops.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';

/** Deterministic uniform numbers in [lo, hi) (mulberry32). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  });
}

export interface CheckInput {
  shape: number[];
  /** Value range (defaults to [-1, 1)); positive ranges for Log, Sqrt, Pow. */
  range?: [number, number];
  /** Not differentiated (indices, masks' sources). */
  fixed?: boolean;
  /** Elements to check (default: up to `perInput`, evenly spread). */
  pick?: number[];
  dtype?: DataType;
  values?: number[];
}

export interface CheckResult {
  /** max |analytic - numeric| / max |numeric| over all differentiated inputs. */
  error: number;
  checked: number;
}

function tensor(dtype: DataType, shape: readonly number[], values: readonly number[]): TensorData {
  const data =
    dtype === 'float64'
      ? (Float64Array.from(values) as unknown as Float32Array)
      : dtype === 'int64'
        ? BigInt64Array.from(values.map((v) => BigInt(v)))
        : dtype === 'bool'
          ? Uint8Array.from(values)
          : Float32Array.from(values);
  return { dtype, shape, data };
}

/**
 * Builds f on fresh inputs, differentiates sum(f * R) with gradients(), and compares with central differences
 * at up to `perInput` elements of each differentiated input.
 */
export async function checkGradient(
  f: (...xs: Node[]) => Node,
  inputs: CheckInput[],
  opts: { dtype?: DataType; step?: number; perInput?: number; seed?: number } = {},
): Promise<CheckResult> {
  const dtype = opts.dtype ?? 'float64';
  const step = opts.step ?? (dtype === 'float64' ? 1e-5 : 1e-2);
  const g = new Graph();
  const nodes = inputs.map((s, i) => g.input(`x${i}`, s.dtype ?? dtype, s.shape));
  const out = f(...nodes);
  const weights = op.constantOf(g, out.dtype, out.shape, randomArray(out.size, 7 + (opts.seed ?? 0)));
  const loss = op.reduce('ReduceSum', op.mul(out, weights), [...out.shape.keys()], false);
  const trained = inputs.map((s, i) => (s.fixed ? -1 : i)).filter((i) => i >= 0);
  const grads = gradients(loss, trained.map((i) => nodes[i]));
  const outputs: Record<string, Node> = { loss };
  trained.forEach((i, k) => (outputs[`g${i}`] = grads[k]));
  const session = await ModelSession.create(emitOnnx(outputs), { providers: ['cpu'] });
  const values = inputs.map((s, i) => s.values ?? randomArray(s.shape.reduce((a, b) => a * b, 1), 100 + i + (opts.seed ?? 0), ...(s.range ?? [-1, 1])));
  const feeds = () => Object.fromEntries(inputs.map((s, i) => [`x${i}`, tensor(s.dtype ?? dtype, s.shape, values[i])]));
  try {
    const analytic = await session.run(feeds());
    let maxDiff = 0;
    let maxRef = 0;
    let checked = 0;
    for (const i of trained) {
      const a = analytic[`g${i}`].data as unknown as ArrayLike<number>;
      const n = values[i].length;
      const count = Math.min(n, opts.perInput ?? 24);
      const picked = inputs[i].pick ?? Array.from({ length: count }, (_, c) => (count === n ? c : Math.floor((c * n) / count)));
      for (const e of picked) {
        const saved = values[i][e];
        values[i][e] = saved + step;
        const up = Number((await session.run(feeds())).loss.data[0]);
        values[i][e] = saved - step;
        const down = Number((await session.run(feeds())).loss.data[0]);
        values[i][e] = saved;
        const numeric = (up - down) / (2 * step);
        maxDiff = Math.max(maxDiff, Math.abs(Number(a[e]) - numeric));
        maxRef = Math.max(maxRef, Math.abs(numeric));
        checked++;
      }
    }
    return { error: maxRef === 0 ? maxDiff : maxDiff / maxRef, checked };
  } finally {
    await session.release();
  }
}
