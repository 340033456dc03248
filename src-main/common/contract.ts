// The one typed contract between the renderer and main (Electron preload or browser-mode WebSocket).
// Every request method has an input validator here; main's handlers run it before anything else, so a
// compromised or buggy renderer can never hand main a value of the wrong shape.
// Pure module: no Node, Electron or DOM imports.

import {
  validateDocumentCreate,
  validateDocumentId,
  validateDocumentSave,
  type DocumentCreateInput,
  type DocumentSaveInput,
  type DocumentSaveResult,
  type DocumentSummary,
  type OpenedDocument,
} from './documents-contract.ts';

import { validateProviderSetting, type ProviderSetting } from './provider-setting.ts';

import {
  validateGenerateInput,
  validateHistoryId,
  validateHistoryList,
  validateReadParameters,
  type GenerateFinishedEvent,
  type GenerateInput,
  type GenerateProgressEvent,
  type HistoryEntry,
  type HistoryListInput,
  type HistoryPage,
  type PngParameters,
} from './generation-contract.ts';

import { validateLiveJob, validateLiveStart, type LivePicture } from './live-contract.ts';

import {
  validateCalibrate,
  validateDatasetId,
  validateImportDataset,
  validateRunId,
  validateTrainingStart,
  validateUpdateCaption,
  type CalibrateInput,
  type CalibrationReport,
  type DatasetReport,
  type DatasetSummary,
  type ImportDatasetInput,
  type TrainingFinishedEvent,
  type TrainingProgressEvent,
  type TrainingRunInfo,
  type TrainingStartInput,
} from './training-contract.ts';

export type ModelKind =
  | 'checkpoint' // SD1.5 single-file checkpoint (UNet + VAE + CLIP text)
  | 'controlnet' // ControlNet, original or diffusers layout
  | 'lora' // LoRA for UNet / text encoder (kohya or diffusers/PEFT layout)
  | 'vae' // standalone VAE
  | 'embedding' // textual-inversion embedding, named in prompts by its file's stem
  | 'ctrlora-base' // CtrLoRA Base ControlNet (no hint block)
  | 'ctrlora-lora' // CtrLoRA condition LoRA
  | 'cnxs' // ControlNet-XS two-stream model
  | 'annotator' // ONNX model that turns a picture into a hint (depth, pose, lineart...)
  | 'upscaler' // ONNX image upscaler (ESRGAN family): [1, 3, H, W] -> [1, 3, sH, sW], for hires fix
  | 'unsupported' // recognised, but a family Hintbrush does not run (SDXL, SD2, SD3, Flux...)
  | 'unknown'; // not recognised at all

export interface LibraryItem {
  id: number;
  path: string;
  name: string; // file name without extension
  kind: ModelKind;
  /** Key layout or sub-kind, e.g. 'original', 'diffusers', 'kohya', 'control_model.' */
  layout: string;
  /** Model family when known: 'sd15', 'sdxl', 'sd2', 'sd3', 'flux'... */
  family: string;
  /** Why the file cannot be used (unsupported family, corrupt file...); empty when usable. */
  problem: string;
  sizeBytes: number;
  sha256: string;
  /** First 10 hex digits of the SHA-256, as A1111 and Civitai display it. */
  shortHash: string;
  /** safetensors __metadata__ (kohya ss_* fields among them). */
  metadata: Record<string, string>;
  triggerWords: string[];
  /** Free-form facts read from the weights (channels, rank, dtype, parameter count...). */
  details: Record<string, string | number>;
  addedAt: string;
  /** Checkpoints: the library id of the VAE used when a generation names none (null: the checkpoint's own). */
  defaultVaeId?: number | null;
}

export interface LibraryRoot {
  path: string;
  addedAt: string;
  lastScanAt: string | null;
}

export interface ProviderReport {
  name: string; // 'cuda' | 'dml' | 'coreml' | 'webgpu' | 'cpu'
  available: boolean;
  reason: string; // why it is not available, or '' when it is
  /** The fix in one line, when there is one the user can do (install X, update the driver). */
  fix?: string;
}

export type EngineState = 'starting' | 'ready' | 'busy' | 'crashed' | 'restarting' | 'stopped';

export interface EngineStatus {
  state: EngineState;
  /** The provider that runs the graphs now. */
  provider: string;
  providers: ProviderReport[];
  pid: number | null;
  restarts: number;
  lastError: string;
}

export type JobKind = 'scan' | 'generate' | 'train' | 'probe' | 'annotate';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobProgress {
  step: number;
  total: number;
  message: string;
}

export interface JobInfo {
  id: string;
  kind: JobKind;
  state: JobState;
  title: string;
  progress: JobProgress;
  error: ErrorInfo | null;
  createdAt: string;
  finishedAt: string | null;
}

/** Errors cross every process boundary in this shape. */
export interface ErrorInfo {
  kind: string;
  message: string;
}

// ---- request/response methods -------------------------------------------------------------------

export interface Methods {
  'app.info': { in: Record<string, never>; out: AppInfo };
  'library.list': { in: Record<string, never>; out: LibraryItem[] };
  'library.roots': { in: Record<string, never>; out: LibraryRoot[] };
  /** Adds folders or files and starts a scan job; returns the job id. */
  'library.add': { in: { paths: string[] }; out: { jobId: string } };
  'library.rescan': { in: Record<string, never>; out: { jobId: string } };
  'library.remove': { in: { id: number }; out: { ok: true } };
  /** The VAE a checkpoint uses by default (stored by hash); null goes back to the checkpoint's own VAE. */
  'library.setDefaultVae': { in: { checkpointId: number; vaeId: number | null }; out: { ok: true } };
  'engine.status': { in: Record<string, never>; out: EngineStatus };
  /** Re-probes the onnxruntime providers in the engine (a 'probe' job); the report arrives as engine.status. */
  'engine.probe': { in: Record<string, never>; out: { jobId: string } };
  /** The remembered provider choice (provider-setting.ts); 'auto' until the artist picks one. */
  'engine.providerSetting': { in: Record<string, never>; out: ProviderSetting };
  /** Remembers the choice and hands it to the engine; its next sessions use it (engine.status shows the result). */
  'engine.setProvider': { in: ProviderSetting; out: ProviderSetting };
  /** Electron only: the native folder picker; browser mode answers kind 'unsupported'. Empty when dismissed. */
  'dialog.chooseFolders': { in: Record<string, never>; out: { paths: string[] } };
  'jobs.list': { in: Record<string, never>; out: JobInfo[] };
  'jobs.cancel': { in: { id: string }; out: { ok: boolean } };
  /** Queues a generation (shapes in generation-contract.ts); the seed is the one drawn when none was given. */
  'generate.start': { in: GenerateInput; out: { jobId: string; seed: number } };
  /** Pictures made, newest first; `query` words must all appear in the prompt or negative prompt. */
  /** Live mode (live-contract.ts): queues a quick picture that stays out of the history. */
  'live.start': { in: GenerateInput; out: { jobId: string; seed: number } };
  /** Waits for a live job and answers its picture; a failed or cancelled job answers its error. */
  'live.result': { in: { jobId: string }; out: LivePicture };
  /** Records a finished live picture in the history as a normal generation (again: the same ids). */
  'live.keep': { in: { jobId: string }; out: { historyIds: number[] } };
  'history.list': { in: HistoryListInput; out: HistoryPage };
  'history.get': { in: { id: number }; out: HistoryEntry };
  /** Removes the record and its picture file. */
  'history.delete': { in: { id: number }; out: { ok: true } };
  /** The A1111 settings in a PNG (a picture dropped into the studio); nulls when it has none. */
  'png.readParameters': { in: { pngBase64: string }; out: PngParameters };
  /** Every annotator tool, with the library models that can run it (texts to show: common/annotator-guide.ts). */
  'annotators.list': { in: Record<string, never>; out: AnnotatorStatus[] };
  /** Starts an 'annotate' job in the engine; fetch its hint with 'annotate.result'. */
  'annotate.start': { in: AnnotateInput; out: { jobId: string } };
  /** Waits for an annotate job and answers its hint; a failed or cancelled job answers its error. */
  'annotate.result': { in: { jobId: string }; out: AnnotateResult };
  /** Studio documents, newest opened first (the first with an openedAt is reopened at start). */
  'documents.list': { in: Record<string, never>; out: DocumentSummary[] };
  /** A document's record, revision and stored rasters; marks it as the last opened. */
  'documents.open': { in: { id: string }; out: OpenedDocument };
  /** A new document of one empty image layer, opened (revision 1). */
  'documents.create': { in: DocumentCreateInput; out: OpenedDocument };
  /** Autosave: the record and the rasters that changed, in one transaction; stale revisions are refused. */
  'documents.save': { in: DocumentSaveInput; out: DocumentSaveResult };
  'documents.delete': { in: { id: string }; out: { ok: true } };
  // Training (shapes, GPU policy and run lifecycle in training-contract.ts).
  /** Reads a folder into a dataset (bad files reported, not fatal); answers when captions and conditions are ready. */
  'training.importDataset': { in: ImportDatasetInput; out: DatasetReport };
  'training.datasets': { in: Record<string, never>; out: DatasetSummary[] };
  'training.dataset': { in: { id: number }; out: DatasetReport };
  'training.updateCaption': { in: { datasetId: number; itemId: number; caption: string }; out: { ok: true } };
  /** A few timed steps in the engine (a 'train' job); answers seconds per step, peak memory and preset steps. */
  'training.calibrate': { in: CalibrateInput; out: CalibrationReport };
  /** Records a run and queues its 'train' job; `steps` is the resolved step count. */
  'training.start': { in: TrainingStartInput; out: { runId: number; jobId: string; steps: number } };
  /** Stops the run's job after its current step with a checkpoint; false when it was not running. */
  'training.pause': { in: { runId: number }; out: { ok: boolean } };
  /** Queues a job that continues a paused or interrupted run from its checkpoint. */
  'training.resume': { in: { runId: number }; out: { jobId: string } };
  /** Stops the run for good (its checkpoint is deleted); false when it had already ended. */
  'training.cancel': { in: { runId: number }; out: { ok: boolean } };
  'training.status': { in: { runId: number }; out: TrainingRunInfo };
  /** Every run, newest first. */
  'training.runs': { in: Record<string, never>; out: TrainingRunInfo[] };
}

// ---- annotators (picture -> hint) ---------------------------------------------------------------

/** What an annotator ONNX file is: the library row's `layout` when its kind is 'annotator'. */
export type AnnotatorLayout = 'depth-anything' | 'dwpose-detector' | 'dwpose-pose' | 'openpose-body' | 'lineart' | 'hed';
/** What the artist picks; a tool may need several models (DWPose: a person detector and a pose model). */
export type AnnotatorTool = 'depth' | 'dwpose' | 'openpose' | 'lineart' | 'softedge';
export const ANNOTATOR_TOOLS: readonly AnnotatorTool[] = ['depth', 'dwpose', 'openpose', 'lineart', 'softedge'];

export interface AnnotatorStatus {
  tool: AnnotatorTool;
  /** Each model the tool needs, with the usable library models of that layout (the default first). */
  roles: { layout: AnnotatorLayout; models: { id: number; name: string }[] }[];
  /** Every role has a model. */
  ready: boolean;
}

/** The picture comes as a PNG, or as raw RGBA pixels (a canvas' ImageData) with their size. */
export interface AnnotateInput {
  tool: AnnotatorTool;
  /** Library ids, one per role in any order; a role left out takes its default model. */
  modelIds?: number[];
  imagePngBase64?: string;
  rgbaBase64?: string;
  imageWidth?: number;
  imageHeight?: number;
  /** Size of the hint to return (the canvas); the picture's size when left out. */
  width?: number;
  height?: number;
}

export interface AnnotatedKeypoint {
  x: number; // hint pixels
  y: number;
  visible: boolean;
  score: number;
}
/** One person in OpenPose's 18-keypoint order (nose, neck, r-shoulder...). */
export interface AnnotatedPerson {
  keypoints: AnnotatedKeypoint[];
  score: number;
}

export interface AnnotateResult {
  tool: AnnotatorTool;
  hint: 'depth' | 'pose' | 'lineart' | 'softedge';
  width: number;
  height: number;
  /** depth, lineart, softedge: an 8-bit grey PNG as the control model wants it (lines white on black, depth near = light). */
  pngBase64: string | null;
  /** pose: the people found, editable. */
  people: AnnotatedPerson[] | null;
}

export interface AppInfo {
  version: string;
  mode: 'electron' | 'browser';
  dataDir: string;
  platform: string;
}

export type MethodName = keyof Methods;
export type MethodInput<M extends MethodName> = Methods[M]['in'];
export type MethodOutput<M extends MethodName> = Methods[M]['out'];

// ---- events pushed from main to every renderer -----------------------------------------------------

export interface Events {
  'library.changed': { count: number };
  'engine.status': EngineStatus;
  'job.updated': JobInfo;
  /** Each step of a generation job, with a small preview of the current estimate. */
  'generate.progress': GenerateProgressEvent;
  /** A generation job's pictures are on disk and in the history. */
  'generate.finished': GenerateFinishedEvent;
  /** Each step of a training job (loss, ETA), with the sample picture at sample steps. */
  'training.progress': TrainingProgressEvent;
  /** A training job ended: the run is done (its LoRA in the library), paused, failed or cancelled. */
  'training.finished': TrainingFinishedEvent;
}
export type EventName = keyof Events;

// ---- input validation ---------------------------------------------------------------------------

export class ContractError extends Error {
  readonly kind = 'bad-request';
}

type Validator<T> = (input: unknown) => T;

function record(input: unknown, method: string): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ContractError(`${method}: input must be an object`);
  }
  return input as Record<string, unknown>;
}

function empty(method: string): Validator<Record<string, never>> {
  return (input) => {
    const r = record(input, method);
    if (Object.keys(r).length > 0) throw new ContractError(`${method}: takes no arguments`);
    return {};
  };
}

function stringArray(value: unknown, what: string, max: number, maxLen: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new ContractError(`${what} must be a list of 1 to ${max} strings`);
  }
  for (const v of value) {
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLen || v.includes('\0')) {
      throw new ContractError(`${what} must hold non-empty strings of at most ${maxLen} characters`);
    }
  }
  return value as string[];
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ContractError(`${what} must be a non-negative integer`);
  }
  return value;
}

function shortString(value: unknown, what: string, maxLen = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLen) {
    throw new ContractError(`${what} must be a string of 1 to ${maxLen} characters`);
  }
  return value;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Largest picture accepted, in base64 characters (a 4096 x 4096 RGBA canvas). */
export const MAX_ANNOTATE_IMAGE_CHARS = 4 * Math.ceil((4096 * 4096 * 4) / 3);

function base64(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ANNOTATE_IMAGE_CHARS || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new ContractError(`${what} must be base64 text of at most ${MAX_ANNOTATE_IMAGE_CHARS} characters`);
  }
  return value;
}

function size(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 8 || value > 8192) {
    throw new ContractError(`${what} must be an integer from 8 to 8192`);
  }
  return value;
}

function annotateInput(input: unknown): AnnotateInput {
  const r = record(input, 'annotate.start');
  const tool = r.tool;
  if (typeof tool !== 'string' || !(ANNOTATOR_TOOLS as readonly string[]).includes(tool)) {
    throw new ContractError(`annotate.start: tool must be one of ${ANNOTATOR_TOOLS.join(', ')}`);
  }
  const out: AnnotateInput = { tool: tool as AnnotatorTool };
  if (r.modelIds !== undefined) {
    if (!Array.isArray(r.modelIds) || r.modelIds.length === 0 || r.modelIds.length > 2) {
      throw new ContractError('annotate.start: modelIds must be a list of 1 or 2 model ids');
    }
    out.modelIds = r.modelIds.map((id) => positiveInt(id, 'modelIds'));
  }
  if ((r.imagePngBase64 === undefined) === (r.rgbaBase64 === undefined)) {
    throw new ContractError('annotate.start: give the picture as imagePngBase64 or as rgbaBase64, not both');
  }
  if (r.imagePngBase64 !== undefined) out.imagePngBase64 = base64(r.imagePngBase64, 'imagePngBase64');
  else {
    out.rgbaBase64 = base64(r.rgbaBase64, 'rgbaBase64');
    out.imageWidth = size(r.imageWidth, 'imageWidth');
    out.imageHeight = size(r.imageHeight, 'imageHeight');
    const bytes = (out.rgbaBase64.length / 4) * 3 - (out.rgbaBase64.endsWith('==') ? 2 : out.rgbaBase64.endsWith('=') ? 1 : 0);
    if (bytes !== out.imageWidth * out.imageHeight * 4) {
      throw new ContractError(`annotate.start: rgbaBase64 holds ${bytes} bytes, not ${out.imageWidth} x ${out.imageHeight} x 4`);
    }
  }
  if ((r.width === undefined) !== (r.height === undefined)) throw new ContractError('annotate.start: give width and height together');
  if (r.width !== undefined) {
    out.width = size(r.width, 'width');
    out.height = size(r.height, 'height');
  }
  const known = new Set(['tool', 'modelIds', 'imagePngBase64', 'rgbaBase64', 'imageWidth', 'imageHeight', 'width', 'height']);
  const extra = Object.keys(r).find((k) => !known.has(k));
  if (extra) throw new ContractError(`annotate.start: unknown field ${JSON.stringify(extra).slice(0, 60)}`);
  return out;
}

export const validators: { [M in MethodName]: Validator<MethodInput<M>> } = {
  'app.info': empty('app.info'),
  'library.list': empty('library.list'),
  'library.roots': empty('library.roots'),
  'library.add': (input) => ({ paths: stringArray(record(input, 'library.add').paths, 'paths', 256, 4096) }),
  'library.rescan': empty('library.rescan'),
  'library.remove': (input) => ({ id: positiveInt(record(input, 'library.remove').id, 'id') }),
  'library.setDefaultVae': (input) => {
    const r = record(input, 'library.setDefaultVae');
    return { checkpointId: positiveInt(r.checkpointId, 'checkpointId'), vaeId: r.vaeId === null ? null : positiveInt(r.vaeId, 'vaeId') };
  },
  'engine.status': empty('engine.status'),
  'engine.probe': empty('engine.probe'),
  'engine.providerSetting': empty('engine.providerSetting'),
  // Arrow function: provider-setting.ts imports this module, so its exports are read at call time only.
  'engine.setProvider': (input) => validateProviderSetting(input),
  'dialog.chooseFolders': empty('dialog.chooseFolders'),
  'jobs.list': empty('jobs.list'),
  'jobs.cancel': (input) => ({ id: shortString(record(input, 'jobs.cancel').id, 'id') }),
  // Arrow functions: generation-contract.ts imports this module, so its exports are read at call time only.
  'generate.start': (input) => validateGenerateInput(input),
  'live.start': (input) => validateLiveStart(input),
  'live.result': (input) => validateLiveJob('live.result')(input),
  'live.keep': (input) => validateLiveJob('live.keep')(input),
  'history.list': (input) => validateHistoryList(input),
  'history.get': (input) => validateHistoryId('history.get')(input),
  'history.delete': (input) => validateHistoryId('history.delete')(input),
  'png.readParameters': (input) => validateReadParameters(input),
  'annotators.list': empty('annotators.list'),
  'annotate.start': annotateInput,
  'annotate.result': (input) => ({ jobId: shortString(record(input, 'annotate.result').jobId, 'jobId') }),
  // Arrow functions: documents-contract.ts imports this module, so its exports are read at call time only.
  'documents.list': empty('documents.list'),
  'documents.open': (input) => validateDocumentId('documents.open')(input),
  'documents.create': (input) => validateDocumentCreate(input),
  'documents.save': (input) => validateDocumentSave(input),
  'documents.delete': (input) => validateDocumentId('documents.delete')(input),
  // Arrow functions: training-contract.ts imports this module, so its exports are read at call time only.
  'training.importDataset': (input) => validateImportDataset(input),
  'training.datasets': empty('training.datasets'),
  'training.dataset': (input) => validateDatasetId('training.dataset')(input),
  'training.updateCaption': (input) => validateUpdateCaption(input),
  'training.calibrate': (input) => validateCalibrate(input),
  'training.start': (input) => validateTrainingStart(input),
  'training.pause': (input) => validateRunId('training.pause')(input),
  'training.resume': (input) => validateRunId('training.resume')(input),
  'training.cancel': (input) => validateRunId('training.cancel')(input),
  'training.status': (input) => validateRunId('training.status')(input),
  'training.runs': empty('training.runs'),
};

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(validators, name);
}

/** Validates one request; throws ContractError naming the method and the problem. */
export function validateRequest<M extends MethodName>(method: M, input: unknown): MethodInput<M> {
  return validators[method](input) as MethodInput<M>;
}
