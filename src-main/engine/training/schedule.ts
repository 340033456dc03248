// What each training step sees, as a pure function of the seed and the step number, so a run resumed from a
// checkpoint continues exactly as it would have without the interruption.
//
// Data order: per epoch, the items of each bucket are shuffled (Fisher-Yates on a generator seeded from the run
// seed and the epoch) and cut into batches; a bucket's last short batch is filled by wrapping around its own
// items (a graph has one batch size). The buckets' turn order is shuffled too, and each bucket's batches run back
// to back, so the trainer switches step graphs (one per bucket shape) once per bucket per epoch.
// Per step: a torch-compatible generator (TorchGenerator, mt19937 as torch.manual_seed) seeded from the run seed
// and the step draws the timesteps (random() mod 1000), the horizontal flips (one bit per item) and the noise
// (torch.randn([B, 4, h, w])): the generator's state at any step is (seed, step), which is what a checkpoint
// records as the RNG state.

import { TorchGenerator } from '../../generation/torch-rng.ts';
import type { Bucket } from './buckets.ts';
import { uniformRandom } from './trainable-lora.ts';

export const TRAIN_TIMESTEPS = 1000;

export interface StepPlan {
  epoch: number;
  bucket: Bucket;
  /** Item indices of the batch (length = batch size). */
  items: number[];
  /** Horizontal flip per batch element (flip a pair's target and condition together). */
  flips: boolean[];
  timesteps: Int32Array; // [B]
  noise: Float32Array; // [B, 4, h, w] at the bucket's latent size
}

const bucketKey = (b: Bucket) => `${b.width}x${b.height}`;

/** The generator seed of one step: the RNG state a checkpoint records is (run seed, step). */
export function stepSeed(seed: number, step: number): number {
  return (seed + Math.imul(step + 1, 0x9e3779b1)) >>> 0;
}

export class DataSchedule {
  private readonly epochs = new Map<number, number[][]>();
  readonly batchesPerEpoch: number;

  constructor(
    private readonly buckets: readonly Bucket[],
    private readonly batch: number,
    private readonly seed: number,
    private readonly latentChannels = 4,
  ) {
    if (buckets.length === 0) throw new Error('training: the dataset has no usable items');
    this.batchesPerEpoch = this.epochBatches(0).length;
  }

  /** The batches of one epoch (item indices), in the order they run. */
  epochBatches(epoch: number): number[][] {
    const cached = this.epochs.get(epoch);
    if (cached) return cached;
    const random = uniformRandom((this.seed ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
    const shuffle = <T>(list: T[]): T[] => {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [list[i], list[j]] = [list[j], list[i]];
      }
      return list;
    };
    const groups = new Map<string, number[]>();
    this.buckets.forEach((b, i) => {
      const key = bucketKey(b);
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const keys = shuffle([...groups.keys()].sort());
    const batches: number[][] = [];
    for (const key of keys) {
      const members = shuffle(groups.get(key)!);
      for (let start = 0; start < members.length; start += this.batch) {
        batches.push(Array.from({ length: this.batch }, (_, k) => members[(start + k) % members.length]));
      }
    }
    this.epochs.set(epoch, batches);
    if (this.epochs.size > 4) this.epochs.delete(Math.min(...this.epochs.keys()));
    return batches;
  }

  /** The flat item order of one epoch (recorded in checkpoints, checked on resume). */
  order(epoch: number): number[] {
    return this.epochBatches(epoch).flat();
  }

  epochOf(step: number): number {
    return Math.floor(step / this.batchesPerEpoch);
  }

  /** Everything step `step` (0-based) feeds the graph besides the cached latents and texts. */
  plan(step: number): StepPlan {
    const epoch = this.epochOf(step);
    const items = this.epochBatches(epoch)[step % this.batchesPerEpoch];
    const bucket = this.buckets[items[0]];
    const gen = new TorchGenerator(stepSeed(this.seed, step));
    const timesteps = Int32Array.from(items, () => gen.random() % TRAIN_TIMESTEPS);
    const flips = items.map(() => (gen.random() & 1) === 1);
    const noise = gen.randn([this.batch, this.latentChannels, bucket.height / 8, bucket.width / 8]);
    return { epoch, bucket, items, flips, timesteps, noise };
  }
}
