// Picks the transport for where the page runs and wraps it so that Svelte state never crosses the boundary
// as a proxy: Electron's structured clone refuses proxies, and JSON of a proxy would read reactive state
// outside of any effect. Every call sends `$state.snapshot(params)`.
import type { EventName, Events, MethodInput, MethodName, MethodOutput } from '../../../src-main/common/contract.ts';
import type { ConnectionState, HintbrushClient, Unsubscribe } from './client.ts';
import { findBridge, PreloadClient } from './preload-client.ts';
import { socketUrl } from '../../../src-main/common/wire.ts';
import { WebSocketClient } from './websocket-client.ts';

class SnapshotClient implements HintbrushClient {
  private readonly inner: HintbrushClient;

  constructor(inner: HintbrushClient) {
    this.inner = inner;
  }

  get mode(): 'electron' | 'browser' {
    return this.inner.mode;
  }

  call<M extends MethodName>(method: M, params: MethodInput<M>): Promise<MethodOutput<M>> {
    return this.inner.call(method, $state.snapshot(params) as MethodInput<M>);
  }

  on<E extends EventName>(event: E, cb: (data: Events[E]) => void): Unsubscribe {
    return this.inner.on(event, cb);
  }

  onConnection(cb: (state: ConnectionState) => void): Unsubscribe {
    return this.inner.onConnection(cb);
  }

  close(): void {
    this.inner.close();
  }
}

/** A client that only reports why it cannot connect (no token in the URL, no preload). */
class UnavailableClient implements HintbrushClient {
  readonly mode = 'browser' as const;
  private readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }
  call<M extends MethodName>(method: M): Promise<MethodOutput<M>> {
    return Promise.reject(Object.assign(new Error(`${method}: ${this.reason}`), { kind: 'disconnected' }));
  }
  on(): Unsubscribe {
    return () => {};
  }
  onConnection(cb: (state: ConnectionState) => void): Unsubscribe {
    cb({ status: 'failed', reason: this.reason });
    return () => {};
  }
  close(): void {}
}

export function createClient(): HintbrushClient {
  const bridge = findBridge(window);
  if (bridge) return new SnapshotClient(new PreloadClient(bridge));
  const url = socketUrl(window.location);
  if (!url) {
    return new UnavailableClient(
      'this page was opened without its access token; open the address printed by `hintbrush serve`',
    );
  }
  return new SnapshotClient(new WebSocketClient({ url }));
}
