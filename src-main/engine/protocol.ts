// The message protocol between main and the engine process (an Electron utilityProcess, or a Node child
// process in browser mode and tests). Messages are structured-cloned, so payloads may carry typed arrays.
// Pure module: both sides import it, and the handler types here let task modules plug into the engine
// without importing the engine's entry (which would start its message loop).

import type { ErrorInfo, ProviderReport } from '../common/contract.ts';
import { isErrorKind, toErrorInfo, type ErrorKind } from '../common/errors.ts';

// ---- main -> engine -------------------------------------------------------------------------------

export interface RunMessage {
  type: 'run';
  jobId: string;
  /** Name of a task registered in the engine (`registerTask`). */
  task: string;
  payload: unknown;
}
export interface CancelMessage {
  type: 'cancel';
  jobId: string;
}
export interface PingMessage {
  type: 'ping';
  seq: number;
}
/** The artist's provider choice (provider-setting.ts); the engine answers with a new `ready`. */
export interface ConfigureMessage {
  type: 'configure';
  provider: string;
  deviceId: number;
}
export type MainToEngine = RunMessage | CancelMessage | PingMessage | ConfigureMessage;

// ---- engine -> main -------------------------------------------------------------------------------

export interface ReadyMessage {
  type: 'ready';
  pid: number;
  /** The provider tasks will use, chosen from `providers`. */
  provider: string;
  providers: ProviderReport[];
  /** Names of the registered tasks. */
  tasks: string[];
}
export interface ProgressMessage {
  type: 'progress';
  jobId: string;
  step: number;
  total: number;
  message: string;
  /** Optional preview (e.g. a small PNG of the current latent); opaque to main's queue. */
  preview?: Uint8Array;
}
export interface ResultMessage {
  type: 'result';
  jobId: string;
  result: unknown;
}
export interface ErrorMessage {
  type: 'error';
  jobId: string;
  /** 'cancelled' when the job stopped because main asked; 'unknown-task', 'busy', or the task's own kind. */
  kind: ErrorKind;
  message: string;
}
export interface PongMessage {
  type: 'pong';
  seq: number;
}
export type EngineToMain = ReadyMessage | ProgressMessage | ResultMessage | ErrorMessage | PongMessage;

// ---- task handlers (engine side) ------------------------------------------------------------------

export interface TaskProgress {
  step: number;
  total: number;
  message: string;
  preview?: Uint8Array;
}

export interface TaskContext {
  jobId: string;
  /** Reports progress to main; cheap, call it once per step. */
  progress(p: TaskProgress): void;
  /** Aborted when main cancels the job: check it between steps (`signal.throwIfAborted()`). */
  signal: AbortSignal;
  /** Provider chosen at start-up ('cuda', 'cpu'...), for sessions the task creates. */
  provider: string;
  /** The app's read-only resources (CLIP vocabulary...) and its writable data folder. */
  resourcesDir: string;
  dataDir: string;
}

/** A task of the engine: resolves with a structured-cloneable result, or throws (a `kind` property is kept). */
export type TaskHandler = (payload: unknown, ctx: TaskContext) => Promise<unknown>;

/** An error thrown by a task to end its job; `kind` crosses to main unchanged. */
export class TaskError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Error info of anything a task threw; abort errors become kind 'cancelled'. */
export function errorInfoOf(err: unknown, signal?: AbortSignal): ErrorInfo {
  if (signal?.aborted || (err instanceof Error && err.name === 'AbortError')) {
    return { kind: 'cancelled', message: 'The job was cancelled.' };
  }
  return toErrorInfo(err, 'engine-error');
}

// ---- shape checks (each side checks what it receives; a bad message is a protocol bug) -------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function isMainToEngine(m: unknown): m is MainToEngine {
  if (!isObject(m)) return false;
  switch (m.type) {
    case 'run':
      return isStr(m.jobId) && isStr(m.task);
    case 'cancel':
      return isStr(m.jobId);
    case 'ping':
      return isNum(m.seq);
    case 'configure':
      return isStr(m.provider) && isNum(m.deviceId);
    default:
      return false;
  }
}

export function isEngineToMain(m: unknown): m is EngineToMain {
  if (!isObject(m)) return false;
  switch (m.type) {
    case 'ready':
      return isNum(m.pid) && isStr(m.provider) && Array.isArray(m.providers) && Array.isArray(m.tasks);
    case 'progress':
      return isStr(m.jobId) && isNum(m.step) && isNum(m.total) && isStr(m.message);
    case 'result':
      return isStr(m.jobId);
    case 'error':
      return isStr(m.jobId) && isErrorKind(m.kind) && isStr(m.message);
    case 'pong':
      return isNum(m.seq);
    default:
      return false;
  }
}

/** Environment variables main sets for the engine process. */
export const ENGINE_ENV = {
  /** '1' in the engine process: its entry module starts the message loop only then. */
  marker: 'HINTBRUSH_ENGINE_PROCESS',
  resourcesDir: 'HINTBRUSH_RESOURCES_DIR',
  dataDir: 'HINTBRUSH_DATA_DIR',
  /** Forces a provider ('cpu', 'cuda', 'webgpu'...) instead of the automatic choice. */
  provider: 'HINTBRUSH_PROVIDER',
  /** Set to '1' to skip the provider probe at start-up (tests: faster start, provider 'cpu'). */
  skipProbe: 'HINTBRUSH_ENGINE_SKIP_PROBE',
} as const;
