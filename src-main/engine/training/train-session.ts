// Runs a training step graph step after step. The ORT session is created once and reused: only the inputs
// change between steps (data, parameters, moments, step count, learning rate, loss scale). The state lives
// here as float32 arrays; each step's outputs become the next step's inputs.
//
// Lifecycle: TrainSession owns its ModelSession; release() frees it. State arrays are replaced (not mutated)
// each step, so a caller may keep a reference to a snapshot (for saving) while training goes on.

import { emitOnnx } from '../graph/emit-onnx.ts';
import { RECOMPUTE_DISABLED_OPTIMIZERS } from '../graph/gradients.ts';
import { ModelSession, type SessionOptions, type TensorData } from '../runtime/session.ts';
import { buildTrainStep, stateNames, type TrainStepOptions } from './train-step.ts';
import type { TrainingGraph } from './recipes/recipe.ts';

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
