// Runs a recipe over cached data step by step: one step graph (TrainSession) per bucket shape, built when the
// schedule first reaches that bucket and replaced when it moves to another (the optimizer state is read out of the
// old session and moves with it), the feeds of each step from the schedule (data order, flips, timesteps, noise),
// and the state a checkpoint holds. Mixed precision (float16 compute, dynamic loss scaling) is the caller's
// choice: GPU providers use it, the CPU trains in float32.
//
// Ownership: the Trainer owns its current TrainSession (release() frees it); the tensor files are the caller's.

import type { TensorFile } from '../../formats/tensor-file.ts';
import { alphasCumprod, SD15_SCHEDULE } from '../../generation/samplers/schedule.ts';
import type { ProviderName, TensorData } from '../runtime/session.ts';
import type { Bucket } from './buckets.ts';
import type { TrainingCheckpoint } from './checkpoint.ts';
import { freshCondition } from './condition-init.ts';
import type { CachedItem } from './data-cache.ts';
import type { WrittenParam } from './lora-writers.ts';
import { buildCtrLoraTraining } from './recipes/ctrlora-condition.ts';
import type { TrainingGraph } from './recipes/recipe.ts';
import { buildStyleLoraTraining } from './recipes/style-lora.ts';
import { DataSchedule } from './schedule.ts';
import { TrainSession } from './train-step.ts';

export type RecipeName = 'style' | 'ctrlora';
export const TEXT_TOKENS = 77;

export interface TrainerConfig {
  recipe: RecipeName;
  checkpoint: TensorFile;
  /** ctrlora: the Base ControlNet. */
  base: TensorFile | null;
  rank: number;
  /** style: kohya alpha (scale alpha / rank). */
  alpha: number;
  lr: number;
  batch: number;
  seed: number;
  textEncoder: boolean;
  recompute: boolean;
  compute: 'float16' | 'float32';
  providers: ProviderName[];
}

export interface StepOutcome {
  loss: number;
  /** False when fp16 overflowed: the update was skipped and the loss scale halved. */
  applied: boolean;
  /** A new step graph was built for this step (the time of this step includes building it). */
  rebuilt: boolean;
}

const ABAR = alphasCumprod(SD15_SCHEDULE);
const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const keyOf = (b: Bucket) => `${b.width}x${b.height}`;

export class Trainer {
  readonly schedule: DataSchedule;
  private current: { key: string; session: TrainSession } | null = null;
  private condition: TensorFile | null = null;
  /** Parameter values, AdamW moments and update count while no session holds them. */
  private state: { params: Map<string, Float32Array>; m: Map<string, Float32Array> | null; v: Map<string, Float32Array> | null; adamStep: number } | null = null;
  private scaler: { scale: number; clean: number } | null;
  readonly shapes = new Map<string, readonly number[]>();

  constructor(
    readonly cfg: TrainerConfig,
    private readonly data: readonly CachedItem[],
  ) {
    this.schedule = new DataSchedule(data.map((d) => d.bucket), cfg.batch, cfg.seed);
    this.scaler = cfg.compute === 'float16' ? { scale: 65536, clean: 0 } : null;
    if (cfg.recipe === 'ctrlora') {
      if (!cfg.base) throw new Error('training: the ctrlora recipe needs a Base ControlNet');
      this.condition = freshCondition(cfg.base, cfg.rank, cfg.seed);
    }
  }

  /** The recipe's forward graph for one bucket (latent size = bucket / 8). */
  graphFor(bucket: Bucket): TrainingGraph {
    const shape = { batch: this.cfg.batch, height: bucket.height / 8, width: bucket.width / 8, tokens: TEXT_TOKENS, compute: this.cfg.compute, seed: this.cfg.seed };
    if (this.cfg.recipe === 'style') return buildStyleLoraTraining(this.cfg.checkpoint, { ...shape, rank: this.cfg.rank, alpha: this.cfg.alpha, textEncoder: this.cfg.textEncoder });
    return buildCtrLoraTraining(this.cfg.checkpoint, this.cfg.base!, this.condition, shape);
  }

  /** Names the configuration: a checkpoint of another one cannot be resumed here. */
  fingerprint(): string {
    const c = this.cfg;
    return JSON.stringify({
      recipe: c.recipe,
      checkpoint: [c.checkpoint.path, c.checkpoint.sizeBytes],
      base: c.base ? [c.base.path, c.base.sizeBytes] : null,
      rank: c.rank,
      alpha: c.alpha,
      lr: c.lr,
      batch: c.batch,
      seed: c.seed,
      textEncoder: c.textEncoder,
      compute: c.compute,
      items: this.data.length,
    });
  }

  private async sessionFor(bucket: Bucket): Promise<{ session: TrainSession; rebuilt: boolean }> {
    const key = keyOf(bucket);
    if (this.current?.key === key) return { session: this.current.session, rebuilt: false };
    await this.park();
    const tg = this.graphFor(bucket);
    for (const p of tg.params) this.shapes.set(p.name, p.input.shape);
    const initial = this.state?.params ?? tg.initial();
    const session = await TrainSession.create(tg, {
      initial,
      recompute: this.cfg.recompute,
      lossScaling: this.scaler !== null,
      adamw: { lr: this.cfg.lr },
      session: { providers: this.cfg.providers },
    });
    if (this.state) session.loadState({ m: this.state.m ?? undefined, v: this.state.v ?? undefined, step: this.state.adamStep });
    if (this.scaler) session.scaler!.restore(this.scaler.scale, this.scaler.clean);
    this.current = { key, session };
    return { session, rebuilt: true };
  }

  /** Moves the state out of the current session and releases it. */
  private async park(): Promise<void> {
    if (!this.current) return;
    const s = this.current.session;
    const state = await s.readState();
    this.state = { params: state.params, m: state.m, v: state.v, adamStep: state.step };
    if (s.scaler) this.scaler = { scale: s.scaler.scale, clean: s.scaler.cleanSteps };
    this.current = null;
    await s.release();
  }

  /** The feeds of data step `step` (0-based). */
  feeds(step: number): { bucket: Bucket; feeds: Record<string, TensorData> } {
    const plan = this.schedule.plan(step);
    const { bucket, items, flips } = plan;
    const B = this.cfg.batch;
    const per = 4 * (bucket.height / 8) * (bucket.width / 8);
    const latentShape = [B, 4, bucket.height / 8, bucket.width / 8];
    const x0 = new Float32Array(B * per);
    items.forEach((it, b) => x0.set(flips[b] ? this.data[it].latentFlip : this.data[it].latent, b * per));
    const feeds: Record<string, TensorData> = {
      x0: f32(latentShape, x0),
      noise: f32(latentShape, plan.noise),
      timestep: f32([B], Float32Array.from(plan.timesteps)),
      alpha_bar: f32([B], Float32Array.from(plan.timesteps, (t) => ABAR[t])),
    };
    if (this.cfg.recipe === 'style' && this.cfg.textEncoder) {
      const ids = new BigInt64Array(B * TEXT_TOKENS);
      items.forEach((it, b) => this.data[it].ids.forEach((v, k) => (ids[b * TEXT_TOKENS + k] = BigInt(v))));
      feeds.input_ids = { dtype: 'int64', shape: [B, TEXT_TOKENS], data: ids };
    } else {
      const width = this.data[items[0]].context!.length / TEXT_TOKENS;
      const context = new Float32Array(B * TEXT_TOKENS * width);
      items.forEach((it, b) => context.set(this.data[it].context!, b * TEXT_TOKENS * width));
      feeds.context = f32([B, TEXT_TOKENS, width], context);
    }
    if (this.cfg.recipe === 'ctrlora') {
      const latent = new Float32Array(B * per);
      items.forEach((it, b) => {
        const d = this.data[it];
        if (!d.cond || !d.condFlip) throw new Error('training: a ctrlora item has no condition latent');
        latent.set(flips[b] ? d.condFlip : d.cond, b * per);
      });
      feeds.latent = f32(latentShape, latent);
    }
    return { bucket, feeds };
  }

  async step(step: number): Promise<StepOutcome> {
    const { bucket, feeds } = this.feeds(step);
    const { session, rebuilt } = await this.sessionFor(bucket);
    const result = await session.step(feeds);
    return { loss: result.loss, applied: result.applied, rebuilt };
  }

  /** The state in host memory (read back from the session, which may keep it on the device). */
  private async snapshot(): Promise<{ params: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array>; adamStep: number; scaler: { scale: number; clean: number } | null }> {
    if (this.current) {
      const s = this.current.session;
      const scaler = s.scaler ? { scale: s.scaler.scale, clean: s.scaler.cleanSteps } : null;
      const state = await s.readState();
      return { params: state.params, m: state.m, v: state.v, adamStep: state.step, scaler };
    }
    if (!this.state) {
      const tg = this.graphFor(this.data[this.schedule.epochBatches(0)[0][0]].bucket);
      for (const p of tg.params) this.shapes.set(p.name, p.input.shape);
      const params = tg.initial();
      const zeros = () => new Map([...params].map(([n, v]) => [n, new Float32Array(v.length)]));
      this.state = { params, m: zeros(), v: zeros(), adamStep: 0 };
    }
    return { params: this.state.params, m: this.state.m!, v: this.state.v!, adamStep: this.state.adamStep, scaler: this.scaler };
  }

  /** The parameters now, named and shaped as the recipe's file layout stores them. */
  async params(): Promise<WrittenParam[]> {
    const { params } = await this.snapshot();
    return [...params].map(([name, data]) => ({ name, shape: this.shapes.get(name)!, data }));
  }

  /** Everything a checkpoint needs besides the run's own counters. */
  async checkpointState(step: number, losses: readonly number[], elapsedSeconds: number): Promise<TrainingCheckpoint> {
    const s = await this.snapshot();
    const epoch = this.schedule.epochOf(step);
    return {
      step,
      adamStep: s.adamStep,
      lossScale: s.scaler?.scale ?? null,
      scalerClean: s.scaler?.clean ?? 0,
      seed: this.cfg.seed,
      dataOrder: { epoch, order: this.schedule.order(epoch) },
      fingerprint: this.fingerprint(),
      elapsedSeconds,
      losses: Float32Array.from(losses),
      params: new Map(s.params),
      m: new Map(s.m),
      v: new Map(s.v),
      shapes: new Map(this.shapes),
    };
  }

  /** Continues from a checkpoint (checked against this configuration and data order). */
  async restore(c: TrainingCheckpoint): Promise<void> {
    if (c.fingerprint !== this.fingerprint()) throw Object.assign(new Error('training: the checkpoint belongs to other settings or another dataset; start the run afresh'), { kind: 'bad-checkpoint' });
    const order = this.schedule.order(c.dataOrder.epoch);
    if (order.length !== c.dataOrder.order.length || order.some((v, i) => v !== c.dataOrder.order[i])) {
      throw Object.assign(new Error('training: the dataset changed since the checkpoint (its data order differs)'), { kind: 'bad-checkpoint' });
    }
    await this.park();
    this.state = { params: new Map(c.params), m: new Map(c.m), v: new Map(c.v), adamStep: c.adamStep };
    for (const [n, s] of c.shapes) this.shapes.set(n, s);
    if (this.scaler && c.lossScale !== null) this.scaler = { scale: c.lossScale, clean: c.scalerClean };
  }

  async release(): Promise<void> {
    const s = this.current?.session;
    this.current = null;
    await s?.release();
  }
}
