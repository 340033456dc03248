// The renderer's one way to talk to main, typed by the contract. Two implementations: the Electron preload
// (preload-client.ts) and the browser-mode WebSocket (websocket-client.ts); index.svelte.ts picks one.
import type {
  ErrorInfo,
  EventName,
  Events,
  MethodInput,
  MethodName,
  MethodOutput,
} from '../../../src-main/common/contract.ts';
import { isErrorKind, type ErrorKind } from '../../../src-main/common/errors.ts';

export type Unsubscribe = () => void;

/** Link state as the status bar shows it. The preload link is always 'open'. */
export type ConnectionState =
  | { status: 'connecting'; attempt: number }
  | { status: 'open' }
  | { status: 'reconnecting'; attempt: number; retryAt: number; reason: string }
  | { status: 'failed'; reason: string };

export interface HintbrushClient {
  readonly mode: 'electron' | 'browser';
  call<M extends MethodName>(method: M, params: MethodInput<M>): Promise<MethodOutput<M>>;
  on<E extends EventName>(event: E, cb: (data: Events[E]) => void): Unsubscribe;
  /** Called at once with the current state, then on every change. */
  onConnection(cb: (state: ConnectionState) => void): Unsubscribe;
  close(): void;
}

/** A failed call: main's typed error, or the link's own ('disconnected', 'timeout', 'bad-response'). */
export class RemoteError extends Error implements ErrorInfo {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'RemoteError';
  }

  static from(value: unknown, method: string): RemoteError {
    if (value instanceof RemoteError) return value;
    if (value && typeof value === 'object') {
      const e = value as Partial<ErrorInfo> & { message?: unknown };
      const kind = isErrorKind(e.kind) ? e.kind : 'internal';
      const message = typeof e.message === 'string' ? e.message : `${method} failed`;
      return new RemoteError(kind, message);
    }
    return new RemoteError('internal', typeof value === 'string' ? value : `${method} failed`);
  }
}

/** Readable text for any error thrown by a call, for toasts and inline messages. */
export function errorText(err: unknown): string {
  if (err instanceof RemoteError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Listener sets keyed by event name, shared by both implementations. */
export class EventHub {
  private readonly listeners = new Map<string, Set<(data: unknown) => void>>();

  on(event: string, cb: (data: unknown) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(cb);
    return () => set.delete(cb);
  }

  emit(event: string, data: unknown): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const cb of [...set]) {
      try {
        cb(data);
      } catch (err) {
        // One broken listener must not starve the others of the event.
        console.error(`listener for ${event} failed`, err);
      }
    }
  }
}

/** Holds the connection state and tells subscribers about changes. */
export class ConnectionHub {
  private current: ConnectionState;
  private readonly subscribers = new Set<(state: ConnectionState) => void>();

  constructor(initial: ConnectionState) {
    this.current = initial;
  }

  get state(): ConnectionState {
    return this.current;
  }

  set(state: ConnectionState): void {
    this.current = state;
    for (const cb of [...this.subscribers]) cb(state);
  }

  subscribe(cb: (state: ConnectionState) => void): Unsubscribe {
    this.subscribers.add(cb);
    cb(this.current);
    return () => this.subscribers.delete(cb);
  }
}
