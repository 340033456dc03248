// The contract over one WebSocket per page (wire format in src-main/common/wire.ts): requests go to
// `services.call`, which validates them; every contract event is pushed to every open socket.

import type { WebSocket } from 'ws';
import { encodeEvent, encodeFailure, encodeResult, parseRequest, WireError } from '../common/wire.ts';
import type { EventName, Events } from '../common/contract.ts';
import { toErrorInfo } from '../common/errors.ts';

/** The part of Services the bridge needs (tests may hand in less than the whole app). */
export interface CallTarget {
  call(method: string, params: unknown): Promise<unknown>;
  events: { onAny(listener: (name: EventName, data: Events[EventName]) => void): () => void };
}

/** A socket that reads this far behind is dropped rather than buffering main's memory away. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export class SocketBridge {
  private readonly sockets = new Set<WebSocket>();
  private readonly offEvents: () => void;

  constructor(private readonly target: CallTarget) {
    this.offEvents = target.events.onAny((name, data) => {
      if (this.sockets.size === 0) return;
      const frame = encodeEvent(name, data);
      for (const ws of this.sockets) this.send(ws, frame);
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  attach(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => this.sockets.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.send(ws, encodeFailure(null, { kind: 'bad-request', message: 'binary frames are not part of the protocol' }));
        return;
      }
      void this.handle(ws, data.toString());
    });
  }

  private async handle(ws: WebSocket, text: string): Promise<void> {
    let id: number | null = null;
    try {
      const req = parseRequest(text);
      id = req.id;
      const result = await this.target.call(req.method, req.params);
      this.send(ws, encodeResult(req.id, result === undefined ? null : result));
    } catch (err) {
      if (err instanceof WireError) id = err.id;
      this.send(ws, encodeFailure(id, toErrorInfo(err)));
    }
  }

  private send(ws: WebSocket, frame: string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(frame);
  }

  close(): void {
    this.offEvents();
    for (const ws of this.sockets) ws.close(1001, 'Hintbrush is shutting down');
    this.sockets.clear();
  }
}
