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
// inputs change between steps (data, parameters, moments, step count, learning rate, loss scale). Parameters
// and moments are resident tensors: each step's *_out tensors are fed back as they are, staying on the GPU
// where the provider allows it (WebGPU, from JS) and never copied on the CPU; readState() reads them to host
// memory for a checkpoint or the file at the end.
//
// Lifecycle: TrainSession owns its ModelSession and its resident state; release() frees both. State tensors
// are replaced (not mutated) each step, so arrays read by readState() stay valid while training goes on.

import { emitOnnx } from '../graph/emit-onnx.ts';
import { gradients, RECOMPUTE_DISABLED_OPTIMIZERS } from '../graph/gradients.ts';
import type { Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { adamwStep, adamwUpdate, DEFAULT_ADAMW, type AdamWConfig } from './optimizer.ts';
import type { TrainingGraph } from './recipes/recipe.ts';
import { type CpuMemoryPolicy, ModelSession, ResidentTensor, type SessionOptions, type TensorData } from '../runtime/session.ts';

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

/**
 * A training step uses the frozen weights forward and backward: their float32 copies are folded once (cast at
 * every run they would live through the whole step anyway), without the NCHWc copies of the layout pass.
 */
const TRAINING_STEPS: CpuMemoryPolicy = Object.freeze({ foldWeightCasts: true, layoutPass: false });

interface ResidentState {
  param: ResidentTensor;
  m: ResidentTensor;
  v: ResidentTensor;
}

export class TrainSession {
  readonly scaler: LossScaler | null;
  private readonly resident = new Map<string, ResidentState>();
  /** Updates applied so far (the next update uses updates + 1 for its bias correction). */
  updates = 0;

  private constructor(
    private readonly session: ModelSession,
    private readonly tg: TrainingGraph,
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
    const residentOutputs = tg.params.flatMap((p) => {
      const n = stateNames(p.name);
      return [n.paramOut, n.mOut, n.vOut];
    });
    const session = await ModelSession.create(model, {
      cpuMemory: TRAINING_STEPS,
      ...opts.session,
      residentOutputs,
      disableOptimizers: [...(opts.session?.disableOptimizers ?? []), ...disable],
    });
    const ts = new TrainSession(session, tg, opts, adamw.lr);
    const initial = opts.initial ?? tg.initial();
    ts.loadState({ params: initial });
    return ts;
  }

  get provider(): string {
    return this.session.provider;
  }

  /**
   * Replaces parameters and/or moments (resuming, moving to another bucket's session); moments not given start
   * at zero along with new parameters. `step` sets the updates applied so far.
   */
  loadState(state: { params?: Map<string, Float32Array>; m?: Map<string, Float32Array>; v?: Map<string, Float32Array>; step?: number }): void {
    for (const p of this.tg.params) {
      const given = (map: Map<string, Float32Array> | undefined, what: string) => {
        const value = map?.get(p.name);
        if (value && value.length !== p.input.size) throw new Error(`training: ${what} of '${p.name}' is not [${p.input.shape}]`);
        return value ? ResidentTensor.fromHost(p.input.shape, value) : null;
      };
      const old = this.resident.get(p.name);
      const param = given(state.params, 'initial value') ?? old?.param;
      if (!param) throw new Error(`training: initial value of '${p.name}' missing`);
      const zeros = () => ResidentTensor.fromHost(p.input.shape, new Float32Array(p.input.size));
      const next = { param, m: given(state.m, 'adam_m') ?? (state.params ? zeros() : old!.m), v: given(state.v, 'adam_v') ?? (state.params ? zeros() : old!.v) };
      if (old) for (const k of ['param', 'm', 'v'] as const) if (old[k] !== next[k]) old[k].dispose();
      this.resident.set(p.name, next);
    }
    if (state.step !== undefined) this.updates = state.step;
  }

  /** The parameters and moments in host memory (downloaded from the device where they live there). */
  async readState(): Promise<OptimizerState> {
    const state: OptimizerState = { params: new Map(), m: new Map(), v: new Map(), step: this.updates };
    for (const [name, r] of this.resident) {
      state.params.set(name, await r.param.read());
      state.m.set(name, await r.m.read());
      state.v.set(name, await r.v.read());
    }
    return state;
  }

  /** Whether the parameters stay in device memory between steps (the provider can keep outputs there). */
  get stateOnDevice(): boolean {
    return [...this.resident.values()].some((r) => r.param.onDevice);
  }

  /** One forward/backward/update on `data` (the recipe's data inputs); feeds the updated state back. */
  async step(data: Record<string, TensorData>, hyper: { lr?: number } = {}): Promise<StepResult> {
    const feeds: Record<string, TensorData | ResidentTensor> = { ...data };
    feeds.lr = f32([1], Float32Array.of(hyper.lr ?? this.lr));
    feeds.step = f32([1], Float32Array.of(this.updates + 1));
    if (this.scaler) feeds.loss_scale = f32([1], Float32Array.of(this.scaler.scale));
    for (const p of this.tg.params) {
      const n = stateNames(p.name);
      const r = this.resident.get(p.name)!;
      feeds[n.param] = r.param;
      feeds[n.m] = r.m;
      feeds[n.v] = r.v;
    }
    const { host: out, resident: next } = await this.session.runResident(feeds);
    const foundInf = out.found_inf ? out.found_inf.data[0] !== 0 : false;
    this.scaler?.update(foundInf);
    const grads = this.opts.outputGradients ? new Map<string, Float32Array>() : undefined;
    for (const p of this.tg.params) {
      const n = stateNames(p.name);
      grads?.set(p.name, out[n.grad].data as Float32Array);
      const updated = { param: next[n.paramOut], m: next[n.mOut], v: next[n.vOut] };
      // An overflowed fp16 step changed nothing (the graph passed the state through): keep the old tensors.
      const [keep, drop] = foundInf ? [this.resident.get(p.name)!, updated] : [updated, this.resident.get(p.name)!];
      for (const k of ['param', 'm', 'v'] as const) drop[k].dispose();
      this.resident.set(p.name, keep);
    }
    if (!foundInf) this.updates++;
    return { loss: Number(out.loss.data[0]), applied: !foundInf, grads };
  }

  async release(): Promise<void> {
    for (const r of this.resident.values()) for (const k of ['param', 'm', 'v'] as const) r[k].dispose();
    this.resident.clear();
    await this.session.release();
  }
}
