// Browser mode: talks to `hintbrush serve` over one WebSocket. Requests are `{id, method, params}`, answers
// `{id, result}` or `{id, error: {kind, message}}`, pushes `{event, data}`: the format of
// src-main/common/wire.ts, whose parser this client uses.
// The link reconnects by itself with backoff; calls made while it is down wait for it, calls in flight when
// it drops fail with kind 'disconnected' (main may or may not have run them).
import type { EventName, Events, MethodInput, MethodName, MethodOutput } from '../../../src-main/common/contract.ts';
import type { ErrorKind } from '../../../src-main/common/errors.ts';
import { parseServerMessage } from '../../../src-main/common/wire.ts';
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffOptions } from './backoff.ts';
import {
  ConnectionHub,
  EventHub,
  RemoteError,
  type ConnectionState,
  type HintbrushClient,
  type Unsubscribe,
} from './client.ts';

/** The part of the DOM WebSocket this client uses, so tests can hand in a fake. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface WebSocketClientOptions {
  url: string;
  createSocket?: (url: string) => SocketLike;
  backoff?: BackoffOptions;
  /** Calls still unanswered after this long fail with kind 'timeout'. */
  callTimeoutMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: RemoteError) => void;
  timer: unknown;
}

const OPEN = 1;

export class WebSocketClient implements HintbrushClient {
  readonly mode = 'browser' as const;
  private readonly events = new EventHub();
  private readonly connection = new ConnectionHub({ status: 'connecting', attempt: 1 });
  private readonly pending = new Map<number, Pending>();
  /** Requests made while the link was down, sent in order once it opens. */
  private readonly outbox: { id: number; text: string }[] = [];
  private socket: SocketLike | null = null;
  private nextId = 1;
  /** Failed connection attempts since the link was last open; drives the backoff. */
  private failures = 0;
  private retryTimer: unknown = null;
  private closed = false;
  private readonly opts: Required<WebSocketClientOptions>;

  constructor(options: WebSocketClientOptions) {
    this.opts = {
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      backoff: DEFAULT_BACKOFF,
      callTimeoutMs: 120_000,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
      ...options,
    };
    this.connect();
  }

  call<M extends MethodName>(method: M, params: MethodInput<M>): Promise<MethodOutput<M>> {
    if (this.closed) return Promise.reject(new RemoteError('disconnected', 'the connection was closed'));
    const id = this.nextId++;
    const text = JSON.stringify({ id, method, params });
    return new Promise<MethodOutput<M>>((resolve, reject) => {
      const timer = this.opts.setTimer(() => {
        this.pending.delete(id);
        const queued = this.outbox.findIndex((m) => m.id === id);
        if (queued >= 0) this.outbox.splice(queued, 1);
        reject(new RemoteError('timeout', `${method}: no answer from Hintbrush`));
      }, this.opts.callTimeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      if (this.socket && this.socket.readyState === OPEN) this.socket.send(text);
      else this.outbox.push({ id, text });
    });
  }

  on<E extends EventName>(event: E, cb: (data: Events[E]) => void): Unsubscribe {
    return this.events.on(event, cb as (data: unknown) => void);
  }

  onConnection(cb: (state: ConnectionState) => void): Unsubscribe {
    return this.connection.subscribe(cb);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) this.opts.clearTimer(this.retryTimer);
    this.retryTimer = null;
    this.socket?.close(1000, 'closed by the page');
    this.socket = null;
    this.failAll('disconnected', 'the connection was closed', true);
    this.connection.set({ status: 'failed', reason: 'closed' });
  }

  private connect(): void {
    this.retryTimer = null;
    if (this.connection.state.status !== 'reconnecting') {
      this.connection.set({ status: 'connecting', attempt: this.failures + 1 });
    }
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch (err) {
      this.scheduleReconnect(err instanceof Error ? err.message : 'cannot open the connection');
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.failures = 0;
      this.connection.set({ status: 'open' });
      for (const m of this.outbox.splice(0)) socket.send(m.text);
    };
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(ev.data);
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting is handled there.
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // Calls already sent may or may not have run; their callers decide whether to retry.
      this.failAll('disconnected', 'the connection to Hintbrush was lost', false);
      if (!this.closed) this.scheduleReconnect(ev.reason || closeReason(ev.code));
    };
  }

  private scheduleReconnect(reason: string): void {
    this.failures++;
    const delay = reconnectDelay(this.failures, this.opts.backoff);
    this.connection.set({ status: 'reconnecting', attempt: this.failures, retryAt: this.opts.now() + delay, reason });
    this.retryTimer = this.opts.setTimer(() => this.connect(), delay);
  }

  /** Rejects calls that were sent; queued ones (not yet sent) survive unless `includeQueued`. */
  private failAll(kind: ErrorKind, message: string, includeQueued: boolean): void {
    const queued = new Set(this.outbox.map((m) => m.id));
    for (const [id, p] of this.pending) {
      if (!includeQueued && queued.has(id)) continue;
      this.opts.clearTimer(p.timer);
      this.pending.delete(id);
      p.reject(new RemoteError(kind, `${p.method}: ${message}`));
    }
    if (includeQueued) this.outbox.length = 0;
  }

  private receive(raw: unknown): void {
    const msg = typeof raw === 'string' ? parseServerMessage(raw) : null;
    if (!msg) {
      console.warn('hintbrush: ignored a frame that is not part of the wire format');
      return;
    }
    if ('event' in msg) {
      this.events.emit(msg.event, msg.data);
      return;
    }
    if (msg.id === null) {
      // main could not read one of our requests at all; nothing to settle, but worth a trace
      if ('error' in msg) console.warn(`hintbrush: a request was refused: ${msg.error.message}`);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.opts.clearTimer(p.timer);
    if ('error' in msg) p.reject(RemoteError.from(msg.error, p.method));
    else p.resolve(msg.result);
  }
}

function closeReason(code: number): string {
  if (code === 1008 || code === 4401 || code === 4403) return 'the server refused this page (token or origin)';
  if (code === 1001) return 'the server is going away';
  if (code === 1006) return 'the connection dropped';
  return `connection closed (${code})`;
}
