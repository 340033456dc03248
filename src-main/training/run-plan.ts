// From a validated request to what the engine runs: models resolved against the library (never a path the
// library does not list), the recorded settings, the step count of a time budget, and the 'train' payload.

import path from 'node:path';
import type { LibraryItem, ModelKind } from '../common/contract.ts';
import type { ModelSelector } from '../common/generation-contract.ts';
import {
  TRAINING_PRESETS,
  type CalibrateInput,
  type CalibrationReport,
  type TrainingPresetName,
  type TrainingSettings,
  type TrainingStartInput,
} from '../common/training-contract.ts';
import { assignBucket, bucketResolutions } from '../engine/training/buckets.ts';
import type { CalibratedResult, TrainPayload } from '../engine/tasks/train-payload.ts';
import { kindError } from '../common/errors.ts';
import { conditionPath } from './conditions.ts';
import type { StoredDataset, StoredItem } from './training-store.ts';

/** Share of a time budget spent on steps; the rest covers encoding the data, samples and checkpoints. */
export const BUDGET_FOR_STEPS = 0.85;

export function pickModel(items: readonly LibraryItem[], sel: ModelSelector, kind: ModelKind, role: string): LibraryItem {
  const item = typeof sel === 'number' ? items.find((i) => i.id === sel) : items.find((i) => i.path === sel || i.path === path.resolve(sel));
  if (!item) throw kindError('not-found', `The ${role} ${JSON.stringify(sel)} is not in the library; add it to the library first.`);
  if (item.kind !== kind) throw kindError('wrong-model', `${item.name} is a ${item.kind} model, not a ${role}.`);
  if (item.problem) throw kindError('unsupported-model', `${item.name} cannot be used: ${item.problem}`);
  return item;
}

const ref = (i: LibraryItem) => ({ id: i.id, name: i.name, path: i.path });

/** The calibration that fits these settings on this provider (the key of training_calibrations). */
export function calibrationKey(c: { recipe: string; checkpoint: string; base: string | null; resolution: number; rank: number; trainTextEncoder: boolean; batchSize: number }, provider: string): string {
  return [c.recipe, c.checkpoint, c.base ?? '', c.resolution, c.rank, c.trainTextEncoder ? 'te' : '', c.batchSize, provider].join('|');
}

/** Steps a budget of `minutes` affords at `secondsPerStep` (at least 1). */
export function stepsForBudget(minutes: number, secondsPerStep: number): number {
  return Math.max(1, Math.min(100_000, Math.floor((minutes * 60 * BUDGET_FOR_STEPS) / Math.max(secondsPerStep, 1e-3))));
}

export function calibrationReport(recipe: CalibrateInput['recipe'], r: CalibratedResult): CalibrationReport {
  return {
    recipe,
    provider: r.provider,
    mixedPrecision: r.mixedPrecision,
    secondsPerStep: r.secondsPerStep,
    peakMemoryBytes: r.peakMemoryBytes,
    presets: (Object.keys(TRAINING_PRESETS) as TrainingPresetName[]).map((name) => ({ name, minutes: TRAINING_PRESETS[name].minutes, steps: stepsForBudget(TRAINING_PRESETS[name].minutes, r.secondsPerStep) })),
  };
}

/** The settings a run records (models by id, name and path; steps resolved; seed drawn when not given). */
export function resolveSettings(input: TrainingStartInput, library: readonly LibraryItem[], dataset: StoredDataset, steps: number, seed: number): TrainingSettings {
  const checkpoint = pickModel(library, input.checkpoint, 'checkpoint', 'checkpoint');
  const base = input.recipe === 'ctrlora' ? pickModel(library, input.base!, 'ctrlora-base', 'CtrLoRA Base ControlNet') : null;
  const safe = (s: string) => s.replace(/[\\/:*?"<>|\0]+/g, '_').trim().slice(0, 100) || 'training';
  return {
    recipe: input.recipe,
    checkpoint: ref(checkpoint),
    base: base ? ref(base) : null,
    datasetId: dataset.id,
    preset: input.preset ?? null,
    steps,
    rank: input.rank,
    alpha: input.recipe === 'style' ? (input.alpha ?? input.rank / 2) : input.rank,
    lr: input.lr,
    resolution: input.resolution,
    batchSize: input.batchSize,
    trainTextEncoder: input.trainTextEncoder,
    sampleEvery: input.sampleEvery,
    samplePrompt: input.samplePrompt,
    checkpointEvery: input.checkpointEvery,
    seed,
    outputName: safe(input.outputName || `${dataset.name}-${input.recipe}`),
  };
}

export interface RunFolders {
  /** The dataset's data folder: cache, generated conditions. */
  datasetDir: string;
  /** The run's folder: checkpoint, samples. */
  runDir: string;
  /** The trained file. */
  output: string;
}

export function folders(dataDir: string, datasetId: number, runId: number, s: TrainingSettings): RunFolders {
  return {
    datasetDir: path.join(dataDir, 'training', 'datasets', String(datasetId)),
    runDir: path.join(dataDir, 'training', 'runs', String(runId)),
    output: path.join(dataDir, 'models', s.recipe === 'style' ? 'lora' : 'ctrlora', `${s.outputName}-run${runId}.safetensors`),
  };
}

/**
 * The settings a 'train' payload is built from: a studio run's TrainingSettings, or `hintbrush train`'s (which
 * has no dataset id or preset and takes any resolution that is a multiple of 64).
 */
export type PayloadSettings = Omit<TrainingSettings, 'resolution' | 'datasetId' | 'preset'> & { resolution: number };

/** The items a run trains on (a CtrLoRA run: those with a condition picture); a dataset with none is refused. */
export function usableItems(recipe: TrainingSettings['recipe'], dataset: Pick<StoredDataset, 'name'>, items: readonly StoredItem[]): readonly StoredItem[] {
  const usable = recipe === 'ctrlora' ? items.filter((i) => i.conditionFile) : items;
  if (usable.length === 0) {
    throw kindError('bad-dataset', recipe === 'ctrlora' ? `The dataset ${dataset.name} has no condition pictures: import it with pairs or a condition to make.` : `The dataset ${dataset.name} has no pictures.`);
  }
  return usable;
}

/**
 * The engine payload of a run over its dataset's items: the one builder of 'train' payloads, for the studio's
 * TrainingService and for `hintbrush train`. Condition files are resolved with conditionPath (a dataset's own
 * pairs, or the conditions made into `f.datasetDir`).
 */
export function trainPayload(s: PayloadSettings, dataset: Pick<StoredDataset, 'name' | 'path' | 'condition'>, items: readonly StoredItem[], f: RunFolders, resume: boolean, checkpointHash: string): TrainPayload {
  const buckets = bucketResolutions(s.resolution);
  const usable = usableItems(s.recipe, dataset, items);
  return {
    mode: 'train',
    recipe: s.recipe,
    checkpoint: s.checkpoint.path,
    base: s.base?.path ?? null,
    items: usable.map((i) => ({
      id: i.id,
      image: path.join(dataset.path, i.file),
      condition: i.conditionFile ? conditionPath(dataset.path, f.datasetDir, i.conditionFile) : null,
      caption: i.caption,
      bucket: assignBucket(i.width, i.height, buckets),
    })),
    rank: s.rank,
    alpha: s.alpha,
    lr: s.lr,
    batchSize: s.batchSize,
    steps: s.steps,
    seed: s.seed,
    textEncoder: s.trainTextEncoder,
    resolution: s.resolution,
    sampleEvery: s.sampleEvery,
    samplePrompt: s.samplePrompt,
    checkpointEvery: s.checkpointEvery,
    runDir: f.runDir,
    cacheDir: path.join(f.datasetDir, 'cache'),
    output: f.output,
    resume,
    info: {
      outputName: s.outputName,
      datasetName: dataset.name,
      condition: dataset.condition === 'pairs' ? dataset.name : dataset.condition,
      checkpointName: s.checkpoint.name,
      checkpointHash,
      baseName: s.base?.name ?? '',
      settings: s,
    },
  };
}
