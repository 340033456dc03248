// AdamW as graph ops, with torch.optim.AdamW's semantics (single-tensor implementation, as torch runs it on the
// CPU): decoupled weight decay first (p *= 1 - lr * wd), then m.lerp_(g, 1 - beta1), v = beta2 v + (1 - beta2) g²,
// bias corrections from the step count, p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps). The step count is a
// graph input (1 on the first step); the bias corrections are computed from it in float64, as torch does in
// Python, so the graph never needs rebuilding as training advances. The learning rate is an input too, so a
// schedule (warm-up, decay) is a number fed per step.

import type { Graph, Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';

export interface AdamWConfig {
  /** Default learning rate; the graph takes it as the `lr` input, so callers may vary it per step. */
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** torch.optim.AdamW's defaults except the learning rate and weight decay most LoRA trainers use. */
export const DEFAULT_ADAMW: AdamWConfig = { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 };

/** Per-step scalars shared by every parameter's update. */
export interface AdamWStep {
  lr: Node; // [1] float32
  /** lr / (1 - beta1^t) */
  stepSize: Node; // [1]
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: Node; // [1]
  /** 1 - lr * weight_decay */
  decay: Node; // [1]
}

/** Builds the shared scalars from the `lr` and `step` inputs (both [1] float32). */
export function adamwStep(g: Graph, cfg: AdamWConfig, lr: Node, step: Node): AdamWStep {
  const f64 = (v: number) => op.scalar(g, v, 'float64');
  const t = op.cast(step, 'float64');
  const bc1 = op.sub(f64(1), op.pow(f64(cfg.betas[0]), t));
  const bc2Sqrt = op.unary('Sqrt', op.sub(f64(1), op.pow(f64(cfg.betas[1]), t)));
  const lr64 = op.cast(lr, 'float64');
  return {
    lr,
    stepSize: op.cast(op.div(lr64, bc1), 'float32'),
    bc2Sqrt: op.cast(bc2Sqrt, 'float32'),
    decay: op.cast(op.sub(f64(1), op.mul(lr64, f64(cfg.weightDecay))), 'float32'),
  };
}

export interface AdamWState {
  param: Node;
  m: Node; // first moment
  v: Node; // second moment
}

/** One AdamW update of one float32 parameter given its gradient. */
export function adamwUpdate(cfg: AdamWConfig, s: AdamWStep, state: AdamWState, grad: Node): AdamWState {
  const g = state.param.graph;
  const f = (v: number) => op.scalar(g, v);
  const [beta1, beta2] = cfg.betas;
  const decayed = op.mul(state.param, s.decay);
  const m = op.add(state.m, op.mul(op.sub(grad, state.m), f(1 - beta1))); // lerp toward grad
  const v = op.add(op.mul(state.v, f(beta2)), op.mul(op.mul(grad, grad), f(1 - beta2)));
  const denom = op.add(op.div(op.unary('Sqrt', v), s.bc2Sqrt), f(cfg.eps));
  const param = op.sub(decayed, op.mul(op.div(m, denom), s.stepSize));
  return { param, m, v };
}
