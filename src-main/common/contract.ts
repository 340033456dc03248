// The one typed contract between the renderer and main (Electron preload or browser-mode WebSocket).
// Every request method has an input validator here; main's handlers run it before anything else, so a
// compromised or buggy renderer can never hand main a value of the wrong shape.
// Pure module: no Node, Electron or DOM imports. The error shapes live in errors.ts and the field checks in
// field-validators.ts, which import nothing of this file, so the contract modules form no import cycle.

export { ContractError, type ErrorInfo, type ErrorKind } from './errors.ts';

import { ContractError, type ErrorInfo } from './errors.ts';
import { base64, base64Bytes, fields, int, nonEmptyText, oneOf, rowId, stringList } from './field-validators.ts';
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
  /**
   * False on an unavailable provider whose reason comes from onnxruntime's one-line summary only (a plain engine
   * start); a probe (`engine.probe`, `hintbrush probe`) reads ORT's own log and names the missing piece.
   */
  diagnosed?: boolean;
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

type Validator<T> = (input: unknown) => T;

function noArguments(method: string): Validator<Record<string, never>> {
  return (input) => {
    if (Object.keys(fields(input, method, [])).length > 0) throw new ContractError(`${method}: takes no arguments`);
    return {};
  };
}

/** Largest picture accepted, in base64 characters (a 4096 x 4096 RGBA canvas). */
export const MAX_ANNOTATE_IMAGE_CHARS = 4 * Math.ceil((4096 * 4096 * 4) / 3);

function annotateInput(input: unknown): AnnotateInput {
  const r = fields(input, 'annotate.start', ['tool', 'modelIds', 'imagePngBase64', 'rgbaBase64', 'imageWidth', 'imageHeight', 'width', 'height']);
  const out: AnnotateInput = { tool: oneOf(r.tool, 'annotate.start: tool', ANNOTATOR_TOOLS) };
  if (r.modelIds !== undefined) {
    if (!Array.isArray(r.modelIds) || r.modelIds.length === 0 || r.modelIds.length > 2) {
      throw new ContractError('annotate.start: modelIds must be a list of 1 or 2 model ids');
    }
    out.modelIds = r.modelIds.map((id) => rowId(id, 'modelIds'));
  }
  if ((r.imagePngBase64 === undefined) === (r.rgbaBase64 === undefined)) {
    throw new ContractError('annotate.start: give the picture as imagePngBase64 or as rgbaBase64, not both');
  }
  if (r.imagePngBase64 !== undefined) out.imagePngBase64 = base64(r.imagePngBase64, 'imagePngBase64', MAX_ANNOTATE_IMAGE_CHARS);
  else {
    out.rgbaBase64 = base64(r.rgbaBase64, 'rgbaBase64', MAX_ANNOTATE_IMAGE_CHARS);
    out.imageWidth = int(r.imageWidth, 'imageWidth', 8, 8192);
    out.imageHeight = int(r.imageHeight, 'imageHeight', 8, 8192);
    const bytes = base64Bytes(out.rgbaBase64);
    if (bytes !== out.imageWidth * out.imageHeight * 4) {
      throw new ContractError(`annotate.start: rgbaBase64 holds ${bytes} bytes, not ${out.imageWidth} x ${out.imageHeight} x 4`);
    }
  }
  if ((r.width === undefined) !== (r.height === undefined)) throw new ContractError('annotate.start: give width and height together');
  if (r.width !== undefined) {
    out.width = int(r.width, 'width', 8, 8192);
    out.height = int(r.height, 'height', 8, 8192);
  }
  return out;
}

export const validators: { [M in MethodName]: Validator<MethodInput<M>> } = {
  'app.info': noArguments('app.info'),
  'library.list': noArguments('library.list'),
  'library.roots': noArguments('library.roots'),
  'library.add': (input) => ({ paths: stringList(fields(input, 'library.add', ['paths']).paths, 'paths', 256, 4096) }),
  'library.rescan': noArguments('library.rescan'),
  'library.remove': (input) => ({ id: rowId(fields(input, 'library.remove', ['id']).id, 'id') }),
  'library.setDefaultVae': (input) => {
    const r = fields(input, 'library.setDefaultVae', ['checkpointId', 'vaeId']);
    return { checkpointId: rowId(r.checkpointId, 'checkpointId'), vaeId: r.vaeId === null ? null : rowId(r.vaeId, 'vaeId') };
  },
  'engine.status': noArguments('engine.status'),
  'engine.probe': noArguments('engine.probe'),
  'engine.providerSetting': noArguments('engine.providerSetting'),
  'engine.setProvider': validateProviderSetting,
  'dialog.chooseFolders': noArguments('dialog.chooseFolders'),
  'jobs.list': noArguments('jobs.list'),
  'jobs.cancel': (input) => ({ id: nonEmptyText(fields(input, 'jobs.cancel', ['id']).id, 'id') }),
  'generate.start': validateGenerateInput,
  'live.start': validateLiveStart,
  'live.result': validateLiveJob('live.result'),
  'live.keep': validateLiveJob('live.keep'),
  'history.list': validateHistoryList,
  'history.get': validateHistoryId('history.get'),
  'history.delete': validateHistoryId('history.delete'),
  'png.readParameters': validateReadParameters,
  'annotators.list': noArguments('annotators.list'),
  'annotate.start': annotateInput,
  'annotate.result': (input) => ({ jobId: nonEmptyText(fields(input, 'annotate.result', ['jobId']).jobId, 'jobId') }),
  'documents.list': noArguments('documents.list'),
  'documents.open': validateDocumentId('documents.open'),
  'documents.create': validateDocumentCreate,
  'documents.save': validateDocumentSave,
  'documents.delete': validateDocumentId('documents.delete'),
  'training.importDataset': validateImportDataset,
  'training.datasets': noArguments('training.datasets'),
  'training.dataset': validateDatasetId('training.dataset'),
  'training.updateCaption': validateUpdateCaption,
  'training.calibrate': validateCalibrate,
  'training.start': validateTrainingStart,
  'training.pause': validateRunId('training.pause'),
  'training.resume': validateRunId('training.resume'),
  'training.cancel': validateRunId('training.cancel'),
  'training.status': validateRunId('training.status'),
  'training.runs': noArguments('training.runs'),
};

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(validators, name);
}

/** Validates one request; throws ContractError naming the method and the problem. */
export function validateRequest<M extends MethodName>(method: M, input: unknown): MethodInput<M> {
  return validators[method](input) as MethodInput<M>;
}
