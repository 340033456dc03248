// One training step as ONE graph: a recipe's forward and loss, the backward pass (gradients.ts), and the
// AdamW update (optimizer.ts). Parameters and optimizer state are graph inputs and outputs:
//   inputs   param:<name>, adam_m:<name>, adam_v:<name>, step [1] (1 on the first update), lr [1],
//            loss_scale [1] (mixed precision only), plus the recipe's data inputs
//   outputs  loss [], param_out:<name>, adam_m_out:<name>, adam_v_out:<name>,
//            found_inf [1] bool (mixed precision only), grad:<name> (when asked, the unscaled gradient)
// The caller feeds the *_out tensors back as the next step's inputs (TrainSession does this).
//
// Mixed precision: the recipe computes in float16 (master weights stay float32 inputs, cast inside the graph);
// the backward is seeded with loss_scale, gradients are unscaled in float32, and when any is not finite the
// graph passes parameters and moments through unchanged and raises found_inf, so the caller skips the step
// (no step count increment) and halves the scale, as torch's GradScaler does.

import type { Node } from '../graph/node.ts';
import { gradients } from '../graph/gradients.ts';
import * as op from '../graph/ops.ts';
import { adamwStep, adamwUpdate, DEFAULT_ADAMW, type AdamWConfig } from './optimizer.ts';
import type { TrainingGraph } from './recipes/recipe.ts';

export interface TrainStepOptions {
  adamw?: Partial<AdamWConfig>;
  /** Recompute activations between the recipe's checkpoints in the backward pass. */
  recompute?: boolean;
  /** Dynamic loss scaling (for float16 recipes): adds the loss_scale input and the found_inf output. */
  lossScaling?: boolean;
  /** Also output every gradient as grad:<name> (tests, diagnostics). */
  outputGradients?: boolean;
}

export const stateNames = (name: string) => ({
  param: `param:${name}`,
  m: `adam_m:${name}`,
  v: `adam_v:${name}`,
  paramOut: `param_out:${name}`,
  mOut: `adam_m_out:${name}`,
  vOut: `adam_v_out:${name}`,
  grad: `grad:${name}`,
});

export interface TrainStepGraph {
  outputs: Record<string, Node>;
  adamw: AdamWConfig;
}

/** Adds backward and AdamW to the recipe's graph; returns the named outputs of the step. */
export function buildTrainStep(tg: TrainingGraph, opts: TrainStepOptions = {}): TrainStepGraph {
  const g = tg.graph;
  const adamw: AdamWConfig = { ...DEFAULT_ADAMW, ...opts.adamw };
  const lr = g.input('lr', 'float32', [1]);
  const step = g.input('step', 'float32', [1]);
  const lossScale = opts.lossScaling ? g.input('loss_scale', 'float32', [1]) : null;
  const seed = lossScale ? op.reshape(lossScale, tg.loss.shape) : undefined;
  const keep = opts.recompute ? { keep: new Set(tg.checkpoints) } : undefined;
  let grads = gradients(tg.loss, tg.params.map((p) => p.input), { seed, recompute: keep });
  let foundInf: Node | null = null;
  if (lossScale) {
    const inverse = op.unary('Reciprocal', lossScale); // [1]
    grads = grads.map((gr) => op.mul(gr, inverse));
    // inf * 0 and NaN * 0 are NaN: one reduction per gradient tells whether any element overflowed.
    const poison = grads.map((gr) => op.reduce('ReduceSum', op.mul(gr, op.scalar(g, 0)), [...gr.shape.keys()], false));
    foundInf = op.reshape(op.isNan(poison.reduce((a, b) => op.add(a, b))), [1]);
  }
  const s = adamwStep(g, adamw, lr, step);
  const outputs: Record<string, Node> = { loss: tg.loss };
  tg.params.forEach((p, i) => {
    const names = stateNames(p.name);
    const m = g.input(names.m, 'float32', p.input.shape);
    const v = g.input(names.v, 'float32', p.input.shape);
    const next = adamwUpdate(adamw, s, { param: p.input, m, v }, grads[i]);
    const keepIfInf = (updated: Node, old: Node) => (foundInf ? op.where(foundInf, old, updated) : updated);
    outputs[names.paramOut] = keepIfInf(next.param, p.input);
    outputs[names.mOut] = keepIfInf(next.m, m);
    outputs[names.vOut] = keepIfInf(next.v, v);
    if (opts.outputGradients) outputs[names.grad] = grads[i];
  });
  if (foundInf) outputs.found_inf = foundInf;
  return { outputs, adamw };
}
