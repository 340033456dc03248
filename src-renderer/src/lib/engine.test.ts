/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineStatus } from '../../../src-main/common/contract.ts';
import { engineStateWords, engineSummary, orderedProviders, providerLabel, providerNote } from './engine.ts';

const status: EngineStatus = {
  state: 'ready',
  provider: 'cpu',
  providers: [
    { name: 'cuda', available: false, reason: 'no NVIDIA driver (libcuda.so.1 not found)' },
    { name: 'webgpu', available: true, reason: '' },
    { name: 'cpu', available: true, reason: '' },
  ],
  pid: 42,
  restarts: 0,
  lastError: '',
};

test('provider names read as vendors write them', () => {
  assert.equal(providerLabel('cuda'), 'CUDA');
  assert.equal(providerLabel('dml'), 'DirectML');
  assert.equal(providerLabel('coreml'), 'Core ML');
  assert.equal(providerLabel('xnnpack'), 'XNNPACK');
  assert.equal(providerLabel(''), '—');
});

test('the provider in use comes first, unavailable ones last, each with its note', () => {
  const ordered = orderedProviders(status);
  assert.deepEqual(
    ordered.map((p) => p.name),
    ['cpu', 'webgpu', 'cuda'],
  );
  assert.deepEqual(
    ordered.map((p) => providerNote(p, status.provider)),
    ['in use', 'available', 'no NVIDIA driver (libcuda.so.1 not found)'],
  );
});

test('engine states map to words and tones', () => {
  assert.deepEqual(engineStateWords('ready'), { label: 'Ready', tone: 'ok' });
  assert.deepEqual(engineStateWords('crashed'), { label: 'Crashed', tone: 'error' });
  assert.deepEqual(engineStateWords('weird'), { label: 'weird', tone: 'idle' });
  assert.equal(engineSummary(status), 'Engine ready · CPU');
  assert.equal(engineSummary(null), 'Engine…');
  assert.equal(engineSummary({ ...status, state: 'crashed', lastError: 'boom' }), 'Engine crashed');
});
