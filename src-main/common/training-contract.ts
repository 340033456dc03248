// The training part of the contract (contract.ts lists the methods and events; the shapes and their input
// validators live here): import a folder as a dataset, edit its captions, measure this machine, train a LoRA
// ('style': a kohya-layout UNet LoRA; 'ctrlora': a new CtrLoRA condition on a Base ControlNet), watch it,
// pause/resume/cancel it. Pure module: no Node, Electron or DOM imports.
//
// Runs and jobs: a training *run* (runId) lives in the library database with its settings, step, loss curve and
// checkpoint; each stretch of GPU work on it is a 'train' *job* (jobId, in jobs.list). Pausing ends the job at
// the next step boundary after writing a checkpoint (the run stays 'paused'); resuming queues a new job that
// continues from the checkpoint at the same step with the same loss curve. A run whose app died mid-job is
// 'interrupted' at the next start and resumes the same way from its last checkpoint.
//
// GPU policy: one GPU job at a time. While a training job runs, 'generate.start' and 'annotate.start' are
// refused with kind 'training-running' and a message naming the run and its step; the studio stays usable
// (documents, history, library) and the artist pauses the run (one step, then a checkpoint) to generate.
// 'training.start' while a generation runs is queued behind it.

import { ContractError } from './errors.ts';
import { fields, int, model, num, oneOf, text, type ModelSelector } from './field-validators.ts';

export type TrainingRecipe = 'style' | 'ctrlora';
export const TRAINING_RECIPES: readonly TrainingRecipe[] = ['style', 'ctrlora'];

/** Where a ctrlora dataset's condition images come from: the folder's pairs, or an annotator run on the targets. */
export type ConditionSource = 'none' | 'pairs' | 'canny' | 'depth' | 'pose';
export const CONDITION_SOURCES: readonly ConditionSource[] = ['none', 'pairs', 'canny', 'depth', 'pose'];

/** Time budgets: the step count is the budget divided by the calibrated seconds per step. */
export type TrainingPresetName = 'quick' | 'standard' | 'thorough';
export const TRAINING_PRESETS: Readonly<Record<TrainingPresetName, { minutes: number; label: string }>> = {
  quick: { minutes: 15, label: '15 minutes' },
  standard: { minutes: 60, label: '1 hour' },
  thorough: { minutes: 180, label: '3 hours' },
};
export const TRAINING_PRESET_NAMES = Object.keys(TRAINING_PRESETS) as TrainingPresetName[];

/** Training resolutions: aspect-ratio buckets (sides multiples of 64) hold at most resolution² pixels. */
export const TRAINING_RESOLUTIONS = [256, 384, 512, 640, 768] as const;
export type TrainingResolution = (typeof TRAINING_RESOLUTIONS)[number];

// ---- datasets ----------------------------------------------------------------------------------------------

export interface ImportDatasetInput {
  /** A folder on this machine: images (+ `name.txt` captions), pairs `name.png` + `name.cond.png`, or
   *  sub-folders `target/` + `condition/` with matching file names. */
  path: string;
  /** Shown in the wizard; the folder's name when left out. */
  name?: string;
  /** 'pairs' is found by itself when the folder has pairs; 'canny' | 'depth' | 'pose' make the condition
   *  images from the targets ('depth' and 'pose' need their annotator models in the library). Default 'none'
   *  for plain images, 'pairs' for pairs. */
  condition?: ConditionSource;
  /** Canny thresholds (0..255) when condition is 'canny'. */
  cannyLow?: number; // 100
  cannyHigh?: number; // 200
}

export type DatasetProblemKind = 'unreadable' | 'too-small' | 'unpaired' | 'size-mismatch' | 'unsupported' | 'caption-unreadable';

/** A file left out of the dataset (importing goes on without it). */
export interface DatasetProblem {
  /** Path relative to the dataset folder. */
  file: string;
  kind: DatasetProblemKind;
  message: string;
}

export interface DatasetItem {
  id: number;
  /** Target image, relative to the dataset folder. */
  file: string;
  /** Condition image: relative to the folder for pairs, or `generated:<name>.png` in the data dir. */
  conditionFile: string | null;
  width: number;
  height: number;
  /** The `.txt` beside the image at import, then as edited with training.updateCaption. */
  caption: string;
  /** The aspect-ratio bucket the image is resized and centre-cropped to at the chosen resolution (512 at import). */
  bucket: { width: number; height: number };
}

export interface DatasetReport {
  id: number;
  name: string;
  /** The imported folder. */
  path: string;
  condition: ConditionSource;
  items: DatasetItem[];
  problems: DatasetProblem[];
  /** Buckets at 512 (count of items each). */
  buckets: { width: number; height: number; count: number }[];
  createdAt: string;
}

export interface DatasetSummary {
  id: number;
  name: string;
  path: string;
  condition: ConditionSource;
  itemCount: number;
  problemCount: number;
  createdAt: string;
}

// ---- calibration -------------------------------------------------------------------------------------------

export interface CalibrateInput {
  recipe: TrainingRecipe;
  checkpoint: ModelSelector;
  /** ctrlora: the Base ControlNet. */
  base?: ModelSelector;
  resolution: TrainingResolution; // 512
  rank: number; // 16
  trainTextEncoder?: boolean; // style only, false
}

export interface CalibrationReport {
  recipe: TrainingRecipe;
  provider: string; // the onnxruntime provider that ran the steps
  mixedPrecision: boolean; // float16 compute on GPU providers, float32 on the CPU
  /** Median of the timed steps (after one warm-up step). */
  secondsPerStep: number;
  /** Peak memory seen while stepping: the engine process' resident set, or the GPU's used memory when known. */
  peakMemoryBytes: number;
  /** Steps each preset affords on this machine. */
  presets: { name: TrainingPresetName; minutes: number; steps: number }[];
}

// ---- runs --------------------------------------------------------------------------------------------------

export interface TrainingStartInput {
  recipe: TrainingRecipe;
  /** The SD1.5 checkpoint trained against (frozen). */
  checkpoint: ModelSelector;
  /** ctrlora: the Base ControlNet (frozen); required. */
  base?: ModelSelector;
  datasetId: number;
  /** A time budget (steps from the calibration; measured first when this machine has none for these settings),
   *  or an explicit step count; exactly one of the two. */
  preset?: TrainingPresetName;
  steps?: number; // 1..100000
  rank: number; // 1..128, 16
  /** style: kohya's network_alpha (default rank / 2); ctrlora LoRAs are scale 1 and take none. */
  alpha?: number;
  lr: number; // (0, 0.1], 1e-4
  resolution: TrainingResolution; // 512
  batchSize: number; // 1..8, 1
  /** style only: also a LoRA on the CLIP text encoder (lora_te_*). */
  trainTextEncoder: boolean;
  /** Sample picture every N steps (0: none), with `samplePrompt` and a fixed seed. */
  sampleEvery: number; // 100
  /** Empty: the first item's caption. ctrlora samples use the first item's condition image. */
  samplePrompt: string;
  /** Checkpoint (params + optimizer + RNG + data order) every N steps; always at pause and at the end. */
  checkpointEvery: number; // 50
  /** Seeds data order, noise, timesteps and fresh LoRA factors; null draws one (recorded in the run). */
  seed: number | null;
  /** File name of the result (without .safetensors); from the dataset and recipe when empty. */
  outputName: string;
}

export type TrainingRunState = 'queued' | 'running' | 'paused' | 'interrupted' | 'done' | 'failed' | 'cancelled';

/** The settings as recorded (resolved from the input: steps, seed, alpha, models' ids and paths). */
export interface TrainingSettings {
  recipe: TrainingRecipe;
  checkpoint: { id: number | null; name: string; path: string };
  base: { id: number | null; name: string; path: string } | null;
  datasetId: number;
  preset: TrainingPresetName | null;
  steps: number;
  rank: number;
  alpha: number;
  lr: number;
  resolution: TrainingResolution;
  batchSize: number;
  trainTextEncoder: boolean;
  sampleEvery: number;
  samplePrompt: string;
  checkpointEvery: number;
  seed: number;
  outputName: string;
}

export interface TrainingSample {
  step: number;
  /** Where the renderer loads it: /training-samples/<runId>/<step>.png (browser) or hintbrush-image://training/<runId>/<step>.png. */
  imageUrl: string;
}

export interface TrainingRunInfo {
  id: number;
  /** The job working on it now; null when none does. */
  jobId: string | null;
  state: TrainingRunState;
  settings: TrainingSettings;
  step: number;
  total: number;
  /** Loss of each step so far (index = step - 1). */
  losses: number[];
  etaSeconds: number | null;
  /** Step of the last checkpoint on disk (0: none); a resume starts there. */
  checkpointStep: number;
  samples: TrainingSample[];
  /** The trained file in the library once done (also after a cancel, when asked to keep it). */
  resultModelId: number | null;
  resultPath: string | null;
  error: { kind: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

export interface TrainingProgressEvent {
  jobId: string;
  runId: number;
  step: number;
  total: number;
  loss: number;
  etaSeconds: number;
  /** At a sample step: the sample picture (also stored, see TrainingSample). */
  samplePngBase64?: string;
}

export interface TrainingFinishedEvent {
  jobId: string;
  runId: number;
  state: TrainingRunState; // 'done' | 'paused' | 'failed' | 'cancelled'
  resultModelId: number | null;
}

export function trainingSampleUrl(runId: number, step: number, mode: 'electron' | 'browser'): string {
  return mode === 'electron' ? `hintbrush-image://training/${runId}/${step}.png` : `/training-samples/${runId}/${step}.png`;
}

// ---- validation --------------------------------------------------------------------------------------------

const ID_MAX = Number.MAX_SAFE_INTEGER;
const FILE_NAME = /^[^\\/:*?"<>|\0]{1,120}$/;

export function validateImportDataset(input: unknown): ImportDatasetInput {
  const r = fields(input, 'training.importDataset', ['path', 'name', 'condition', 'cannyLow', 'cannyHigh']);
  const path = text(r.path, 'path', 4096);
  if (path.length === 0) throw new ContractError('training.importDataset: path must name a folder');
  const out: ImportDatasetInput = { path };
  if (r.name !== undefined) out.name = text(r.name, 'name', 200);
  if (r.condition !== undefined) out.condition = oneOf(r.condition, 'condition', CONDITION_SOURCES);
  if (r.cannyLow !== undefined) out.cannyLow = int(r.cannyLow, 'cannyLow', 0, 255);
  if (r.cannyHigh !== undefined) out.cannyHigh = int(r.cannyHigh, 'cannyHigh', 0, 255);
  return out;
}

export function validateUpdateCaption(input: unknown): { datasetId: number; itemId: number; caption: string } {
  const r = fields(input, 'training.updateCaption', ['datasetId', 'itemId', 'caption']);
  return { datasetId: int(r.datasetId, 'datasetId', 0, ID_MAX), itemId: int(r.itemId, 'itemId', 0, ID_MAX), caption: text(r.caption, 'caption', 5000) };
}

export function validateCalibrate(input: unknown): CalibrateInput {
  const r = fields(input, 'training.calibrate', ['recipe', 'checkpoint', 'base', 'resolution', 'rank', 'trainTextEncoder']);
  const recipe = oneOf(r.recipe, 'recipe', TRAINING_RECIPES);
  const out: CalibrateInput = {
    recipe,
    checkpoint: model(r.checkpoint, 'checkpoint'),
    resolution: oneOf(r.resolution, 'resolution', TRAINING_RESOLUTIONS, 512),
    rank: int(r.rank, 'rank', 1, 128, 16),
  };
  if (recipe === 'ctrlora') out.base = model(r.base, 'base');
  else if (r.base !== undefined) throw new ContractError('training.calibrate: only the ctrlora recipe takes a base');
  if (r.trainTextEncoder !== undefined) {
    if (typeof r.trainTextEncoder !== 'boolean') throw new ContractError('trainTextEncoder must be true or false');
    out.trainTextEncoder = recipe === 'style' && r.trainTextEncoder;
  }
  return out;
}

const START_FIELDS = ['recipe', 'checkpoint', 'base', 'datasetId', 'preset', 'steps', 'rank', 'alpha', 'lr', 'resolution', 'batchSize', 'trainTextEncoder', 'sampleEvery', 'samplePrompt', 'checkpointEvery', 'seed', 'outputName'];

export function validateTrainingStart(input: unknown): TrainingStartInput {
  const r = fields(input, 'training.start', START_FIELDS);
  const recipe = oneOf(r.recipe, 'recipe', TRAINING_RECIPES);
  if ((r.preset === undefined) === (r.steps === undefined)) throw new ContractError('training.start: give a preset or a step count, one of the two');
  const rank = int(r.rank, 'rank', 1, 128, 16);
  const out: TrainingStartInput = {
    recipe,
    checkpoint: model(r.checkpoint, 'checkpoint'),
    datasetId: int(r.datasetId, 'datasetId', 0, ID_MAX),
    rank,
    lr: num(r.lr, 'lr', 1e-8, 0.1, 1e-4),
    resolution: oneOf(r.resolution, 'resolution', TRAINING_RESOLUTIONS, 512),
    batchSize: int(r.batchSize, 'batchSize', 1, 8, 1),
    trainTextEncoder: r.trainTextEncoder === undefined ? false : r.trainTextEncoder === true,
    sampleEvery: int(r.sampleEvery, 'sampleEvery', 0, 100000, 100),
    samplePrompt: text(r.samplePrompt, 'samplePrompt', 2000, ''),
    checkpointEvery: int(r.checkpointEvery, 'checkpointEvery', 1, 100000, 50),
    seed: r.seed === undefined || r.seed === null ? null : int(r.seed, 'seed', 0, 2 ** 32 - 1),
    outputName: text(r.outputName, 'outputName', 120, ''),
  };
  if (r.trainTextEncoder !== undefined && typeof r.trainTextEncoder !== 'boolean') throw new ContractError('trainTextEncoder must be true or false');
  if (out.trainTextEncoder && recipe !== 'style') throw new ContractError('training.start: only the style recipe trains the text encoder');
  if (r.preset !== undefined) out.preset = oneOf(r.preset, 'preset', TRAINING_PRESET_NAMES);
  else out.steps = int(r.steps, 'steps', 1, 100000);
  if (recipe === 'ctrlora') {
    out.base = model(r.base, 'base');
    if (r.alpha !== undefined) throw new ContractError('training.start: ctrlora LoRAs have scale 1 and take no alpha');
  } else {
    if (r.base !== undefined) throw new ContractError('training.start: only the ctrlora recipe takes a base');
    if (r.alpha !== undefined) out.alpha = num(r.alpha, 'alpha', 1e-3, 1024);
  }
  if (out.outputName !== '' && !FILE_NAME.test(out.outputName)) throw new ContractError('outputName must be a plain file name (no / \\ : * ? " < > |)');
  return out;
}

export function validateRunId(method: string): (input: unknown) => { runId: number } {
  return (input) => ({ runId: int(fields(input, method, ['runId']).runId, 'runId', 0, ID_MAX) });
}

export function validateDatasetId(method: string): (input: unknown) => { id: number } {
  return (input) => ({ id: int(fields(input, method, ['id']).id, 'id', 0, ID_MAX) });
}
