// How the contract travels between a renderer and main. Pure module, imported by main (server, preload)
// and by the renderer's transports.
//
// Browser mode (`hintbrush serve`): one WebSocket at `ws://HOST:PORT/ws?token=TOKEN` (the token the page got
// in its own URL, `/?token=TOKEN`). Text frames of JSON:
//   renderer -> main   {id, method, params}                    id: a positive safe integer chosen by the page
//   main -> renderer   {id, result} | {id, error: {kind, message}}
//   main -> renderer   {event, data}                           pushes of the contract's Events
// A frame that cannot be parsed is answered {id: null, error: {kind: 'bad-request', ...}} (with the id when
// it could be read).
//
// Electron: the preload exposes `window.hintbrush`, shaped as `HintbrushBridge`: one function per contract
// method, grouped by namespace (`hintbrush.library.list()`, `hintbrush.jobs.cancel({id})`), and `onEvent`.
// A failed call rejects with a plain `{kind, message}` object, not an Error: contextBridge strips every
// property of an Error except its message, and the kind must survive.

import type { ErrorInfo, EventName, Events, MethodInput, MethodName, MethodOutput } from './contract.ts';
import { validators } from './contract.ts';
import { isErrorKind } from './errors.ts';

export const WS_PATH = '/ws';
export const TOKEN_PARAM = 'token';
/**
 * Largest request frame main accepts: most are tiny, but 'annotate.start' carries a picture, up to a
 * 4096 x 4096 RGBA canvas in base64 (about 90 MB). The contract's validators bound each field themselves.
 */
export const MAX_REQUEST_BYTES = 128 * 1024 * 1024;

export const METHOD_NAMES = Object.keys(validators) as MethodName[];
// A record, not a list, so that an event added to the contract fails to compile here until it is listed.
const EVENTS: Record<EventName, true> = {
  'library.changed': true,
  'engine.status': true,
  'job.updated': true,
  'generate.progress': true,
  'generate.finished': true,
  'training.progress': true,
  'training.finished': true,
};
export const EVENT_NAMES = Object.keys(EVENTS) as readonly EventName[];

export interface WireRequest {
  id: number;
  method: MethodName;
  params: unknown;
}
export interface WireResult {
  id: number;
  result: unknown;
}
export interface WireFailure {
  id: number | null;
  error: ErrorInfo;
}
export interface WireEvent<E extends EventName = EventName> {
  event: E;
  data: Events[E];
}
export type ServerMessage = WireResult | WireFailure | WireEvent;

/** A frame that breaks the wire format; `id` is set when the request's id could be read. */
export class WireError extends Error {
  readonly kind = 'bad-request';
  constructor(
    message: string,
    readonly id: number | null = null,
  ) {
    super(message);
  }
}

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Parses one request frame. Checks the envelope only (id, a known method name); the params are checked by
 * main's handler with the contract's validator, as for Electron calls.
 */
export function parseRequest(text: string): WireRequest {
  if (text.length > MAX_REQUEST_BYTES) throw new WireError(`request larger than ${MAX_REQUEST_BYTES} bytes`);
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new WireError('request is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new WireError('request must be an object');
  const { id, method, params } = msg as Record<string, unknown>;
  if (!isId(id)) throw new WireError('request id must be a positive integer');
  if (typeof method !== 'string' || !(METHOD_NAMES as string[]).includes(method)) {
    throw new WireError(`unknown method ${JSON.stringify(String(method)).slice(0, 80)}`, id);
  }
  return { id, method: method as MethodName, params: params ?? {} };
}

/** Parses one frame from main (renderer side). Returns null for a frame that is none of the three shapes. */
export function parseServerMessage(text: string): ServerMessage | null {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof msg !== 'object' || msg === null) return null;
  const m = msg as Record<string, unknown>;
  if (typeof m.event === 'string') {
    return (EVENT_NAMES as string[]).includes(m.event) ? (m as unknown as WireEvent) : null;
  }
  if ('error' in m && (m.id === null || isId(m.id))) {
    const e = m.error as Partial<ErrorInfo> | null;
    if (!e || typeof e.kind !== 'string' || typeof e.message !== 'string') return null;
    // A kind this side does not know (a newer main) is still a failure: 'internal'.
    return { id: m.id as number | null, error: { kind: isErrorKind(e.kind) ? e.kind : 'internal', message: e.message } };
  }
  if ('result' in m && isId(m.id)) return { id: m.id, result: m.result };
  return null;
}

export const encodeResult = (id: number, result: unknown): string => JSON.stringify({ id, result });
export const encodeFailure = (id: number | null, error: ErrorInfo): string =>
  JSON.stringify({ id, error: { kind: error.kind, message: error.message } });
export const encodeEvent = <E extends EventName>(event: E, data: Events[E]): string => JSON.stringify({ event, data });

/** The WebSocket URL for a page served at `loc` with `?token=` in its URL; null without a token. */
export function socketUrl(loc: { protocol: string; host: string; search: string }): string | null {
  const token = new URLSearchParams(loc.search).get(TOKEN_PARAM);
  if (!token) return null;
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}${WS_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token)}`;
}

// ---- Electron bridge shape --------------------------------------------------------------------------

type Namespace = MethodName extends `${infer N}.${string}` ? N : never;
type Args<M extends MethodName> = MethodInput<M> extends Record<string, never> ? [input?: MethodInput<M>] : [input: MethodInput<M>];

/** `window.hintbrush` in Electron: `hintbrush.library.add({paths})`, `hintbrush.onEvent('job.updated', cb)`. */
export type HintbrushBridge = {
  [N in Namespace]: {
    [M in MethodName as M extends `${N}.${infer F}` ? F : never]: (...args: Args<M>) => Promise<MethodOutput<M>>;
  };
} & {
  /** One event by name, or every event with `onEvent((name, data) => ...)`; returns the unsubscribe. */
  onEvent: {
    <E extends EventName>(name: E, listener: (data: Events[E]) => void): () => void;
    (listener: (name: EventName, data: unknown) => void): () => void;
  };
};

/** Splits 'library.add' into its namespace and function name. */
export function splitMethod(method: MethodName): [string, string] {
  const dot = method.indexOf('.');
  return [method.slice(0, dot), method.slice(dot + 1)];
}

/**
 * Builds a HintbrushBridge from a `call` per method (the preload passes one that invokes that method's own
 * IPC channel). The result has one named function per method and no generic entry point.
 */
export function buildBridge(
  call: (method: MethodName, input: unknown) => Promise<unknown>,
  subscribe: (listener: (name: EventName, data: unknown) => void) => () => void,
): HintbrushBridge {
  const api: Record<string, unknown> = {};
  for (const method of METHOD_NAMES) {
    const [ns, fn] = splitMethod(method);
    const group = (api[ns] ??= {}) as Record<string, unknown>;
    group[fn] = (input?: unknown) => call(method, input ?? {});
  }
  api.onEvent = (a: unknown, b?: unknown) => {
    if (typeof a === 'function') return subscribe(a as (name: EventName, data: unknown) => void);
    if (typeof a !== 'string' || !(EVENT_NAMES as string[]).includes(a) || typeof b !== 'function') {
      throw new TypeError('onEvent(name, listener) takes a known event name and a function');
    }
    return subscribe((name, data) => name === a && (b as (d: unknown) => void)(data));
  };
  return api as HintbrushBridge;
}

/** The IPC channel of one contract method (Electron). */
export const ipcChannel = (method: MethodName): string => `hintbrush:${method}`;
/** The IPC channel main pushes events on: arguments (name, data). */
export const IPC_EVENT_CHANNEL = 'hintbrush:event';
