/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBridge } from '../../../src-main/common/wire.ts';
import type { EventName } from '../../../src-main/common/contract.ts';
import { findBridge, PreloadClient } from './preload-client.ts';

/** A bridge as the preload builds it, over a fake main. */
function fakeBridge(handler: (method: string, input: unknown) => Promise<unknown>) {
  let listener: ((name: EventName, data: unknown) => void) | null = null;
  const bridge = buildBridge(handler, (l) => {
    listener = l;
    return () => (listener = null);
  });
  return { bridge, push: (name: EventName, data: unknown) => listener?.(name, data) };
}

test('findBridge accepts only an object with onEvent', () => {
  assert.equal(findBridge({}), null);
  assert.equal(findBridge({ hintbrush: { library: {} } }), null);
  const { bridge } = fakeBridge(async () => null);
  assert.equal(findBridge({ hintbrush: bridge }), bridge);
});

test('calls go to the namespaced bridge function with their params', async () => {
  const seen: unknown[] = [];
  const { bridge } = fakeBridge(async (method, input) => {
    seen.push([method, input]);
    return { jobId: 'j1' };
  });
  const client = new PreloadClient(bridge);
  assert.deepEqual(await client.call('library.add', { paths: ['/m'] }), { jobId: 'j1' });
  assert.deepEqual(seen, [['library.add', { paths: ['/m'] }]]);
  assert.equal(client.has('library.add'), true);
  assert.equal(client.has('dialog.pickFolder'), false);
});

test('plain {kind, message} rejections keep their kind; Errors become kind "internal" (an error without a kind, as main names it)', async () => {
  const { bridge } = fakeBridge(async (method) => {
    if (method === 'library.remove') throw { kind: 'not-found', message: 'no library item 9' };
    throw new Error('IPC broke');
  });
  const client = new PreloadClient(bridge);
  await assert.rejects(client.call('library.remove', { id: 9 }), { kind: 'not-found', message: 'no library item 9' });
  await assert.rejects(client.call('jobs.list', {}), { kind: 'internal', message: 'IPC broke' });
});

test('events reach listeners until the client closes', () => {
  const { bridge, push } = fakeBridge(async () => null);
  const client = new PreloadClient(bridge);
  const seen: unknown[] = [];
  client.on('library.changed', (d) => seen.push(d));
  push('library.changed', { count: 1 });
  push('job.updated', { id: 'x' });
  client.close();
  push('library.changed', { count: 2 });
  assert.deepEqual(seen, [{ count: 1 }]);
});
