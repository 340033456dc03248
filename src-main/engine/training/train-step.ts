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
//
// TrainSession runs the step graph step after step. The ORT session is created once and reused: only the
// inputs change between steps (data, parameters, moments, step count, learning rate, loss scale). The state
// lives there as float32 arrays; each step's outputs become the next step's inputs.
//
// Lifecycle: TrainSession owns its ModelSession; release() frees it. State arrays are replaced (not mutated)
// each step, so a caller may keep a reference to a snapshot (for saving) while training goes on.

import { emitOnnx } from '../graph/emit-onnx.ts';
import { gradients, RECOMPUTE_DISABLED_OPTIMIZERS } from '../graph/gradients.ts';
import type { Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { adamwStep, adamwUpdate, DEFAULT_ADAMW, type AdamWConfig } from './optimizer.ts';
import type { TrainingGraph } from './recipes/recipe.ts';
import { ModelSession, type SessionOptions, type TensorData } from '../runtime/session.ts';

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

export interface OptimizerState {
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** Updates applied so far (the next update uses step + 1 for its bias correction). */
  step: number;
}

export interface StepResult {
  loss: number;
  /** False when mixed precision found an overflow: nothing was updated and the loss scale was halved. */
  applied: boolean;
  /** Gradients of this step (when the step was built with outputGradients). */
  grads?: Map<string, Float32Array>;
}

/** torch.cuda.amp.GradScaler's policy: start at 2^16, halve on overflow, double after 2000 clean steps. */
export class LossScaler {
  private clean = 0;
  constructor(
    public scale = 65536,
    private readonly growthInterval = 2000,
  ) {}

  /** Clean steps since the last change of scale (a checkpoint records it, so growth resumes on time). */
  get cleanSteps(): number {
    return this.clean;
  }

  /** Back to a recorded state (resuming from a checkpoint). */
  restore(scale: number, cleanSteps: number): void {
    this.scale = scale;
    this.clean = cleanSteps;
  }

  update(foundInf: boolean): void {
    if (foundInf) {
      this.scale /= 2;
      this.clean = 0;
    } else if (++this.clean >= this.growthInterval) {
      this.scale *= 2;
      this.clean = 0;
    }
  }
}

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });

export class TrainSession {
  readonly scaler: LossScaler | null;

  private constructor(
    private readonly session: ModelSession,
    private readonly tg: TrainingGraph,
    readonly state: OptimizerState,
    private readonly opts: TrainStepOptions,
    readonly lr: number,
  ) {
    this.scaler = opts.lossScaling ? new LossScaler() : null;
  }

  /** Builds and compiles the step graph once; `initial` defaults to the recipe's starting values. */
  static async create(tg: TrainingGraph, opts: TrainStepOptions & { initial?: Map<string, Float32Array>; session?: SessionOptions } = {}): Promise<TrainSession> {
    const { outputs, adamw } = buildTrainStep(tg, opts);
    const model = emitOnnx(outputs, { graphName: 'train_step' });
    const disable = opts.recompute ? RECOMPUTE_DISABLED_OPTIMIZERS : [];
    const session = await ModelSession.create(model, { ...opts.session, disableOptimizers: [...(opts.session?.disableOptimizers ?? []), ...disable] });
    const initial = opts.initial ?? tg.initial();
    const state: OptimizerState = { params: new Map(), m: new Map(), v: new Map(), step: 0 };
    for (const p of tg.params) {
      const value = initial.get(p.name);
      if (!value || value.length !== p.input.size) throw new Error(`training: initial value of '${p.name}' missing or not [${p.input.shape}]`);
      state.params.set(p.name, value);
      state.m.set(p.name, new Float32Array(value.length));
      state.v.set(p.name, new Float32Array(value.length));
    }
    return new TrainSession(session, tg, state, opts, adamw.lr);
  }

  get provider(): string {
    return this.session.provider;
  }

  /** One forward/backward/update on `data` (the recipe's data inputs); feeds the updated state back. */
  async step(data: Record<string, TensorData>, hyper: { lr?: number } = {}): Promise<StepResult> {
    const feeds: Record<string, TensorData> = { ...data };
    feeds.lr = f32([1], Float32Array.of(hyper.lr ?? this.lr));
    feeds.step = f32([1], Float32Array.of(this.state.step + 1));
    if (this.scaler) feeds.loss_scale = f32([1], Float32Array.of(this.scaler.scale));
    for (const p of this.tg.params) {
      const n = stateNames(p.name);
      feeds[n.param] = f32(p.input.shape, this.state.params.get(p.name)!);
      feeds[n.m] = f32(p.input.shape, this.state.m.get(p.name)!);
      feeds[n.v] = f32(p.input.shape, this.state.v.get(p.name)!);
    }
    const out = await this.session.run(feeds);
    const foundInf = out.found_inf ? out.found_inf.data[0] !== 0 : false;
    this.scaler?.update(foundInf);
    const grads = this.opts.outputGradients ? new Map<string, Float32Array>() : undefined;
    for (const p of this.tg.params) {
      const n = stateNames(p.name);
      grads?.set(p.name, out[n.grad].data as Float32Array);
      if (foundInf) continue;
      this.state.params.set(p.name, out[n.paramOut].data as Float32Array);
      this.state.m.set(p.name, out[n.mOut].data as Float32Array);
      this.state.v.set(p.name, out[n.vOut].data as Float32Array);
    }
    if (!foundInf) this.state.step++;
    return { loss: Number(out.loss.data[0]), applied: !foundInf, grads };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
