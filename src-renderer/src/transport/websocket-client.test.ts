/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectionState } from './client.ts';
import { socketUrl } from '../../../src-main/common/wire.ts';
import { WebSocketClient, type SocketLike } from './websocket-client.ts';

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  push(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

/** A client over fake sockets and a hand-driven clock. */
function setup() {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; at: number; id: number }[] = [];
  let now = 0;
  let nextTimer = 1;
  const states: ConnectionState[] = [];
  const client = new WebSocketClient({
    url: 'ws://127.0.0.1:1234/ws?token=t',
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
    callTimeoutMs: 5000,
    setTimer: (fn, ms) => {
      const id = nextTimer++;
      timers.push({ fn, at: now + ms, id });
      return id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    now: () => now,
  });
  client.onConnection((s) => states.push(s));
  const advance = (ms: number) => {
    now += ms;
    for (;;) {
      const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers.splice(timers.indexOf(due), 1);
      due.fn();
    }
  };
  return { client, sockets, states, advance };
}

test('the socket URL (wire.ts) carries the page token and follows the page scheme', () => {
  assert.equal(
    socketUrl({ protocol: 'http:', host: '127.0.0.1:5173', search: '?token=a%2Bb' }),
    'ws://127.0.0.1:5173/ws?token=a%2Bb',
  );
  assert.equal(
    socketUrl({ protocol: 'https:', host: 'box:8443', search: '?x=1&token=abc' }),
    'wss://box:8443/ws?token=abc',
  );
  assert.equal(socketUrl({ protocol: 'http:', host: 'h', search: '' }), null);
});

test('calls wait for the socket to open and resolve by id, in any order', async () => {
  const { client, sockets } = setup();
  const list = client.call('library.list', {});
  const status = client.call('engine.status', {});
  assert.equal(sockets[0].sent.length, 0);
  sockets[0].open();
  assert.deepEqual(sockets[0].sent, [
    { id: 1, method: 'library.list', params: {} },
    { id: 2, method: 'engine.status', params: {} },
  ]);
  sockets[0].push({ id: 2, result: { state: 'ready' } });
  sockets[0].push({ id: 1, result: [] });
  assert.deepEqual(await list, []);
  assert.deepEqual(await status, { state: 'ready' });
});

test('an error answer rejects with its kind and message', async () => {
  const { client, sockets } = setup();
  sockets[0].open();
  const call = client.call('library.remove', { id: 7 });
  sockets[0].push({ id: 1, error: { kind: 'not-found', message: 'no library item 7' } });
  await assert.rejects(call, { name: 'RemoteError', kind: 'not-found', message: 'no library item 7' });
});

test('pushed events reach their listeners only', () => {
  const { client, sockets } = setup();
  sockets[0].open();
  const seen: unknown[] = [];
  const off = client.on('library.changed', (d) => seen.push(d));
  client.on('job.updated', () => assert.fail('wrong event'));
  sockets[0].push({ event: 'library.changed', data: { count: 3 } });
  sockets[0].onmessage?.({ data: 'not json' });
  off();
  sockets[0].push({ event: 'library.changed', data: { count: 4 } });
  assert.deepEqual(seen, [{ count: 3 }]);
});

test('a dropped link fails calls in flight, reconnects with backoff and says so', async () => {
  const { client, sockets, states, advance } = setup();
  sockets[0].open();
  const inFlight = client.call('jobs.list', {});
  sockets[0].drop();
  await assert.rejects(inFlight, { kind: 'disconnected' });
  assert.deepEqual(states.at(-1), { status: 'reconnecting', attempt: 1, retryAt: 100, reason: 'the connection dropped' });

  const queued = client.call('jobs.list', {});
  advance(100);
  assert.equal(sockets.length, 2);
  sockets[1].drop(); // still down: the next wait is longer
  assert.deepEqual(states.at(-1), { status: 'reconnecting', attempt: 2, retryAt: 300, reason: 'the connection dropped' });
  advance(199);
  assert.equal(sockets.length, 2);
  advance(1);
  sockets[2].open();
  assert.deepEqual(states.at(-1), { status: 'open' });
  assert.deepEqual(sockets[2].sent, [{ id: 2, method: 'jobs.list', params: {} }]);
  sockets[2].push({ id: 2, result: [] });
  assert.deepEqual(await queued, []);
});

test('unanswered calls time out; close() stops reconnecting', async () => {
  const { client, sockets, states, advance } = setup();
  sockets[0].open();
  const call = client.call('app.info', {});
  advance(5000);
  await assert.rejects(call, { kind: 'timeout' });
  client.close();
  assert.deepEqual(states.at(-1), { status: 'failed', reason: 'closed' });
  advance(60_000);
  assert.equal(sockets.length, 1);
  await assert.rejects(client.call('app.info', {}), { kind: 'disconnected' });
});
