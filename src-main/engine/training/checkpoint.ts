// A training checkpoint: everything needed to continue a run at the same step with the same loss curve, in one
// safetensors file written atomically (temp file, fsync, rename: a power loss leaves the old checkpoint or the
// new one, never half of one).
//   tensors   param.<name>, adam_m.<name>, adam_v.<name> (float32), losses [steps] (float32, every step so far)
//   metadata  hintbrush_checkpoint: JSON {version, step, adamStep, lossScale, scalerClean, rng, dataOrder,
//             fingerprint, elapsedSeconds, samplePending}
// `rng` is {kind: 'torch-per-step', seed}: the schedule reseeds a torch-compatible generator from (seed, step)
// at every step, so the seed and the step are the generator's whole state. `dataOrder` is the item order of the
// current epoch, checked on resume (a dataset edited since would silently change the run). `fingerprint` names
// the recipe, models, shapes and hyper-parameters; a checkpoint of another configuration is refused.

import fs from 'node:fs';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../formats/safetensors.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

export interface TrainingCheckpoint {
  /** Data steps done (the next step to run is this one, 0-based). */
  step: number;
  /** AdamW updates applied (overflowed fp16 steps are skipped, so it may be below `step`). */
  adamStep: number;
  lossScale: number | null;
  scalerClean: number;
  seed: number;
  dataOrder: { epoch: number; order: number[] };
  fingerprint: string;
  elapsedSeconds: number;
  /** The sample picture of this step was due but skipped (a pause came during it): a resume makes it first. */
  samplePending?: boolean;
  losses: Float32Array;
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** Shapes of the parameters (for writing them back). */
  shapes: Map<string, readonly number[]>;
}

export class CheckpointError extends Error {
  readonly kind = 'bad-checkpoint';
}

export function saveCheckpoint(file: string, c: TrainingCheckpoint): void {
  const tensors: TensorToWrite[] = [];
  for (const [name, data] of c.params) {
    const shape = c.shapes.get(name)!;
    tensors.push({ name: `param.${name}`, dtype: 'F32', shape, data });
    tensors.push({ name: `adam_m.${name}`, dtype: 'F32', shape, data: c.m.get(name)! });
    tensors.push({ name: `adam_v.${name}`, dtype: 'F32', shape, data: c.v.get(name)! });
  }
  tensors.push({ name: 'losses', dtype: 'F32', shape: [c.losses.length], data: c.losses });
  const meta = {
    version: 1,
    step: c.step,
    adamStep: c.adamStep,
    lossScale: c.lossScale,
    scalerClean: c.scalerClean,
    rng: { kind: 'torch-per-step', seed: c.seed },
    dataOrder: c.dataOrder,
    fingerprint: c.fingerprint,
    elapsedSeconds: c.elapsedSeconds,
    samplePending: c.samplePending === true,
  };
  writeSafetensors(file, tensors, { hintbrush_checkpoint: JSON.stringify(meta) });
}

/** The step and loss curve a checkpoint holds (main reads them when a job ends), or null when there is none. */
export function checkpointProgress(file: string): { step: number; losses: number[] } | null {
  if (!fs.existsSync(file)) return null;
  try {
    const f = openSafetensors(file);
    try {
      const meta = JSON.parse(f.metadata.hintbrush_checkpoint ?? 'null') as { step?: number } | null;
      if (!meta || !Number.isSafeInteger(meta.step)) return null;
      return { step: meta.step!, losses: Array.from(f.readFloat32('losses')) };
    } finally {
      f.close();
    }
  } catch {
    return null;
  }
}

/** Reads a checkpoint; null when there is none. Throws CheckpointError for one that is not a training checkpoint. */
export function loadCheckpoint(file: string): TrainingCheckpoint | null {
  if (!fs.existsSync(file)) return null;
  const f = openSafetensors(file);
  try {
    const raw = f.metadata.hintbrush_checkpoint;
    if (!raw) throw new CheckpointError(`${file}: not a Hintbrush training checkpoint`);
    const meta = JSON.parse(raw) as {
      version: number;
      step: number;
      adamStep: number;
      lossScale: number | null;
      scalerClean: number;
      rng: { kind: string; seed: number };
      dataOrder: { epoch: number; order: number[] };
      fingerprint: string;
      elapsedSeconds: number;
      samplePending?: boolean;
    };
    if (meta.version !== 1 || meta.rng?.kind !== 'torch-per-step') throw new CheckpointError(`${file}: checkpoint version ${meta.version} is not one this build reads`);
    const c: TrainingCheckpoint = {
      step: meta.step,
      adamStep: meta.adamStep,
      lossScale: meta.lossScale,
      scalerClean: meta.scalerClean,
      seed: meta.rng.seed,
      dataOrder: meta.dataOrder,
      fingerprint: meta.fingerprint,
      elapsedSeconds: meta.elapsedSeconds,
      samplePending: meta.samplePending === true,
      losses: f.readFloat32('losses'),
      params: new Map(),
      m: new Map(),
      v: new Map(),
      shapes: new Map(),
    };
    for (const [key, entry] of f.tensors) {
      if (!key.startsWith('param.')) continue;
      const name = key.slice('param.'.length);
      c.params.set(name, f.readFloat32(key));
      c.m.set(name, f.readFloat32(`adam_m.${name}`));
      c.v.set(name, f.readFloat32(`adam_v.${name}`));
      c.shapes.set(name, entry.shape);
    }
    if (c.losses.length !== c.step) throw new CheckpointError(`${file}: ${c.losses.length} losses recorded for ${c.step} steps`);
    return c;
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`${file}: unreadable training checkpoint (${(err as Error).message})`);
  } finally {
    f.close();
  }
}
