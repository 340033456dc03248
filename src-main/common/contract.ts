// The one typed contract between the renderer and main (Electron preload or browser-mode WebSocket).
// Every request method has an input validator here; main's handlers run it before anything else, so a
// compromised or buggy renderer can never hand main a value of the wrong shape.
// Pure module: no Node, Electron or DOM imports.

export type ModelKind =
  | 'checkpoint' // SD1.5 single-file checkpoint (UNet + VAE + CLIP text)
  | 'controlnet' // ControlNet, original or diffusers layout
  | 'lora' // LoRA for UNet / text encoder (kohya or diffusers/PEFT layout)
  | 'vae' // standalone VAE
  | 'ctrlora-base' // CtrLoRA Base ControlNet (no hint block)
  | 'ctrlora-lora' // CtrLoRA condition LoRA
  | 'cnxs' // ControlNet-XS two-stream model
  | 'annotator' // ONNX model that turns a picture into a hint (depth, pose, lineart...)
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

export type JobKind = 'scan' | 'generate' | 'train' | 'probe';
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
  'engine.status': { in: Record<string, never>; out: EngineStatus };
  /** Re-probes the onnxruntime providers in the engine (a 'probe' job); the report arrives as engine.status. */
  'engine.probe': { in: Record<string, never>; out: { jobId: string } };
  /** Electron only: the native folder picker; browser mode answers kind 'unsupported'. Empty when dismissed. */
  'dialog.chooseFolders': { in: Record<string, never>; out: { paths: string[] } };
  'jobs.list': { in: Record<string, never>; out: JobInfo[] };
  'jobs.cancel': { in: { id: string }; out: { ok: boolean } };
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

export const validators: { [M in MethodName]: Validator<MethodInput<M>> } = {
  'app.info': empty('app.info'),
  'library.list': empty('library.list'),
  'library.roots': empty('library.roots'),
  'library.add': (input) => ({ paths: stringArray(record(input, 'library.add').paths, 'paths', 256, 4096) }),
  'library.rescan': empty('library.rescan'),
  'library.remove': (input) => ({ id: positiveInt(record(input, 'library.remove').id, 'id') }),
  'engine.status': empty('engine.status'),
  'engine.probe': empty('engine.probe'),
  'dialog.chooseFolders': empty('dialog.chooseFolders'),
  'jobs.list': empty('jobs.list'),
  'jobs.cancel': (input) => ({ id: shortString(record(input, 'jobs.cancel').id, 'id') }),
};

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(validators, name);
}

/** Validates one request; throws ContractError naming the method and the problem. */
export function validateRequest<M extends MethodName>(method: M, input: unknown): MethodInput<M> {
  return validators[method](input) as MethodInput<M>;
}
