/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineStatus, JobInfo } from '../../../src-main/common/contract.ts';
import {
  engineStateWords,
  engineSummary,
  headlineJob,
  isActiveJob,
  jobProgressText,
  mergeJob,
  newestFirst,
  orderedProviders,
  providerLabel,
  providerNote,
} from './status.ts';

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

function job(id: string, state: JobInfo['state'], step = 0, extra: Partial<JobInfo> = {}): JobInfo {
  return {
    id,
    kind: 'scan',
    state,
    title: `Scan ${id}`,
    progress: { step, total: 10, message: '' },
    error: null,
    createdAt: '2025-01-01T00:00:00Z',
    finishedAt: null,
    ...extra,
  };
}

test('queued and running jobs are active', () => {
  assert.equal(isActiveJob(job('a', 'queued')), true);
  assert.equal(isActiveJob(job('a', 'running')), true);
  assert.equal(isActiveJob(job('a', 'done')), false);
  assert.equal(isActiveJob(job('a', 'cancelled')), false);
});

test('mergeJob never lets a stale report undo progress or a finish', () => {
  const running5 = job('a', 'running', 5);
  assert.equal(mergeJob(undefined, running5), running5);
  assert.equal(mergeJob(running5, job('a', 'running', 3)), running5);
  const running7 = job('a', 'running', 7);
  assert.equal(mergeJob(running5, running7), running7);
  const done = job('a', 'done', 10);
  assert.equal(mergeJob(running7, done), done);
  assert.equal(mergeJob(done, job('a', 'running', 9)), done);
  const failed = job('a', 'failed', 2, { error: { kind: 'io', message: 'disk gone' } });
  assert.equal(mergeJob(running5, failed), failed);
});

test('headlineJob prefers a running job over queued ones', () => {
  const jobs = [job('q', 'queued'), job('r', 'running'), job('d', 'done')];
  assert.equal(headlineJob(jobs)?.id, 'r');
  assert.equal(headlineJob([job('q', 'queued')])?.id, 'q');
  assert.equal(headlineJob([job('d', 'done')]), null);
});

test('newestFirst orders running, queued, then finished by time', () => {
  const jobs = [
    job('old', 'done', 10, { finishedAt: '2025-01-01T01:00:00Z' }),
    job('q', 'queued'),
    job('new', 'failed', 1, { finishedAt: '2025-01-02T00:00:00Z' }),
    job('r', 'running'),
  ];
  assert.deepEqual(
    jobs.sort(newestFirst).map((j) => j.id),
    ['r', 'q', 'new', 'old'],
  );
});

test('jobProgressText joins the count and the message', () => {
  assert.equal(jobProgressText(job('a', 'running', 3, { progress: { step: 3, total: 12, message: 'x.ckpt' } })), '3 / 12 · x.ckpt');
  assert.equal(jobProgressText(job('a', 'running', 0, { progress: { step: 0, total: 0, message: 'listing files' } })), 'listing files');
  assert.equal(jobProgressText(job('a', 'queued', 0, { progress: { step: 0, total: 0, message: '' } })), '');
});
