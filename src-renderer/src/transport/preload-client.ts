// Electron mode: the preload exposes `window.hintbrush` (wire.ts `HintbrushBridge`) through contextBridge:
// one function per contract method grouped by namespace (`hintbrush.library.list()`), plus `onEvent`.
// Nothing else of Node or Electron is reachable from the page. A failed call rejects with a plain
// `{kind, message}` object (contextBridge would strip an Error's kind).
import type { EventName, Events, MethodInput, MethodName, MethodOutput } from '../../../src-main/common/contract.ts';
import { splitMethod, type HintbrushBridge } from '../../../src-main/common/wire.ts';
import {
  ConnectionHub,
  EventHub,
  RemoteError,
  type ConnectionState,
  type HintbrushClient,
  type Unsubscribe,
} from './client.ts';

/** The bridge when the page runs under Hintbrush's preload, else null. */
export function findBridge(w: unknown): HintbrushBridge | null {
  const api = (w as { hintbrush?: unknown } | undefined)?.hintbrush;
  if (!api || typeof api !== 'object') return null;
  return typeof (api as { onEvent?: unknown }).onEvent === 'function' ? (api as HintbrushBridge) : null;
}

type BridgeFn = (input: unknown) => Promise<unknown>;

function bridgeFunction(bridge: HintbrushBridge, method: string): BridgeFn | null {
  const [ns, fn] = splitMethod(method as MethodName);
  const group = (bridge as unknown as Record<string, Record<string, unknown> | undefined>)[ns];
  const f = group?.[fn];
  return typeof f === 'function' ? (f as BridgeFn) : null;
}

export class PreloadClient implements HintbrushClient {
  readonly mode = 'electron' as const;
  private readonly events = new EventHub();
  private readonly connection = new ConnectionHub({ status: 'open' });
  private readonly bridge: HintbrushBridge;
  private readonly detach: () => void;

  constructor(bridge: HintbrushBridge) {
    this.bridge = bridge;
    this.detach = bridge.onEvent((name: EventName, data: unknown) => this.events.emit(name, data));
  }

  /** Whether this preload offers a method (a renderer newer than its preload may ask for more). */
  has(method: string): boolean {
    return bridgeFunction(this.bridge, method) !== null;
  }

  async call<M extends MethodName>(method: M, params: MethodInput<M>): Promise<MethodOutput<M>> {
    const fn = bridgeFunction(this.bridge, method);
    if (!fn) throw new RemoteError('unsupported', `${method} is not available in this version of Hintbrush`);
    try {
      return (await fn(params)) as MethodOutput<M>;
    } catch (err) {
      throw RemoteError.from(err instanceof Error ? { kind: 'error', message: err.message } : err, method);
    }
  }

  on<E extends EventName>(event: E, cb: (data: Events[E]) => void): Unsubscribe {
    return this.events.on(event, cb as (data: unknown) => void);
  }

  onConnection(cb: (state: ConnectionState) => void): Unsubscribe {
    return this.connection.subscribe(cb);
  }

  close(): void {
    this.detach();
  }
}
