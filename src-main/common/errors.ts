// Every kind of failure that crosses a boundary (IPC, WebSocket, engine process, CLI output, stored job and run
// records), with one spelling each, and the one error a contract validator throws. Errors travel as
// `{ kind, message }` (ErrorInfo): the kind is for code (retry, show a dialog, keep a document dirty), the
// message for people. Pure module: imports nothing, so every other module of common/ can import it.

export const ERROR_KINDS = [
  // requests and the app
  'bad-request', // a malformed or out-of-range input (every ContractError)
  'forbidden', // a message from a frame or origin that may not call main
  'not-found', // a library model, document, history entry, run or job that does not exist
  'unsupported', // something this mode or build cannot do (a native dialog in browser mode, a pickle feature)
  'unavailable', // a service that is not there right now
  'app-closing',
  'usage', // a bad command line
  'bad-option',
  'refused-remote',
  'port-in-use',
  'ipc-failed',
  'bad-response',
  'disconnected',
  'no-checkpoint',
  'training-running', // one GPU job at a time: a training run holds it
  'internal', // a bug: an error without a kind
  // the library, its database and files on disk
  'not-a-model-file',
  'refused-folder',
  'library',
  'newer-database',
  'corrupt-database',
  'migration-failed',
  'bad-migrations',
  'electron-binding-missing',
  'corrupt', // a damaged model file
  'hostile', // a pickle that would run code
  'io',
  'disk-full',
  'disk-error',
  'bad-png',
  'bad-raster',
  'corrupt-document',
  'bad-image',
  'bad-dataset',
  // models
  'model-missing', // a model file that is gone (moved or deleted), or a tool that lacks one
  'wrong-model',
  'unsupported-model',
  'unusable-model',
  'bad-checkpoint',
  'model-output',
  'no-picture',
  'graph',
  'tokenizer',
  'bad-seed',
  'bad-schedule',
  'prompt-schedule', // prompt editing ([a:b:0.5], [a|b]) that does not parse
  'bad-embedding', // a textual-inversion file that cannot be read
  'bad-sampler-input',
  // the engine process and jobs
  'cancelled',
  'interrupted', // the app stopped while the job or run was in flight
  'engine-crashed',
  'engine-stopped',
  'engine-error', // an engine task threw an error without a kind
  'unknown-task',
  'busy', // the engine is running another job
  'timeout',
  'out-of-memory',
  'provider',
  'model',
  'run',
  'training-diverged',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_KINDS);
export const isErrorKind = (value: unknown): value is ErrorKind => typeof value === 'string' && KNOWN.has(value);

/** Errors cross every process boundary in this shape. */
export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
}

/** What a contract validator throws: the input of a request does not have the contract's shape. */
export class ContractError extends Error {
  readonly kind = 'bad-request';
}

/** An Error with a contract `kind`. */
export function kindError(kind: ErrorKind, message: string): Error & { kind: ErrorKind } {
  return Object.assign(new Error(message), { kind });
}

/** Kind and message of anything thrown; an error without a known kind gets `fallback`. */
export function toErrorInfo(err: unknown, fallback: ErrorKind = 'internal'): ErrorInfo {
  if (err instanceof Error) {
    const kind = (err as { kind?: unknown }).kind;
    return { kind: isErrorKind(kind) ? kind : fallback, message: err.message };
  }
  return { kind: fallback, message: String(err) };
}
