// The engine's message loop in this process, over a stand-in for Electron's process.parentPort (the
// utilityProcess channel; the Node child-process channel is covered by src-main/jobs/ tests), and the
// provider probe against the real onnxruntime-node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseProvider, probeProviders } from './engine-process.ts';
import { engineOnFakePort } from './engine-on-fake-port.test-support.ts';
import { cachedProviderFailure } from './runtime/provider-log.ts';

describe('engine process loop (Electron parentPort)', () => {
  const port = engineOnFakePort();

  it('says ready with its pid, provider and tasks', async () => {
    const ready = await port.next('ready');
    assert.equal(ready.pid, process.pid);
    assert.equal(ready.provider, 'cpu');
    assert.ok(ready.tasks.includes('sleep') && ready.tasks.includes('probe'));
  });

  it('answers pings and ignores messages that are not the protocol', async () => {
    port.send({ type: 'shutdown-everything' });
    port.send({ type: 'ping', seq: 41 });
    assert.deepEqual(await port.next('pong'), { type: 'pong', seq: 41 });
  });

  it('runs a task with progress and a result, refuses a second one while busy', async () => {
    port.send({ type: 'run', jobId: 'a', task: 'sleep', payload: { steps: 3, stepMs: 20 } });
    port.send({ type: 'run', jobId: 'b', task: 'sleep', payload: { steps: 1, stepMs: 1 } });
    assert.equal((await port.next('error', 'b')).kind, 'busy');
    const result = await port.next('result', 'a');
    assert.deepEqual(result.result, { steps: 3, pid: process.pid });
    const steps = port.received.filter((m) => m.type === 'progress' && m.jobId === 'a').map((m) => (m as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3]);
  });

  it('stops a cancelled task at once with kind cancelled', async () => {
    port.send({ type: 'run', jobId: 'c', task: 'sleep', payload: { steps: 100, stepMs: 100 } });
    await port.next('progress', 'c');
    const t0 = Date.now();
    port.send({ type: 'cancel', jobId: 'c' });
    const err = await port.next('error', 'c');
    assert.equal(err.kind, 'cancelled');
    assert.ok(Date.now() - t0 < 100);
  });

  it('names an unknown task', async () => {
    port.send({ type: 'run', jobId: 'd', task: 'paint-my-house', payload: null });
    const err = await port.next('error', 'd');
    assert.equal(err.kind, 'unknown-task');
    assert.match(err.message, /paint-my-house/);
  });
});

describe('provider probe', () => {
  it('finds the CPU provider working and says why each other one is unavailable', async () => {
    const reports = await probeProviders();
    assert.deepEqual(reports.find((r) => r.name === 'cpu'), { name: 'cpu', available: true, reason: '' });
    for (const r of reports) assert.ok(r.available === (r.reason === ''), `${r.name}: ${r.reason}`);
  });

  it('at engine start reads only the summary of a failed provider; a probe reads ORT\'s log, once per process', async () => {
    const plain = await probeProviders({ diagnose: false });
    assert.deepEqual(plain.find((r) => r.name === 'cpu'), { name: 'cpu', available: true, reason: '' });
    for (const r of plain.filter((p) => !p.available)) assert.equal(r.diagnosed, false, r.name);
    const cuda = plain.find((r) => r.name === 'cuda');
    if (process.platform === 'linux' && process.arch === 'x64' && cuda && !cuda.available) {
      // The JS summary does not say which file is missing; ORT's log, read by the probe, does.
      assert.doesNotMatch(cuda.reason, /libonnxruntime_providers_cuda\.so/);
      const probed = await probeProviders();
      const diagnosed = probed.find((r) => r.name === 'cuda');
      assert.match(diagnosed?.reason ?? '', /libonnxruntime_providers_cuda\.so/);
      assert.equal(diagnosed?.diagnosed, undefined);
      // The capture is kept for the process: a second probe starts no child.
      assert.equal(cachedProviderFailure('cuda'), cachedProviderFailure('cuda'));
      const t0 = performance.now();
      assert.deepEqual(await probeProviders(), probed);
      assert.ok(performance.now() - t0 < 1000, `a second probe (three captures take about 1.5 s) took ${(performance.now() - t0).toFixed(0)} ms`);
    }
  });

  it('chooses the best available provider, webgpu only when asked', () => {
    const r = (name: string, available: boolean) => ({ name, available, reason: available ? '' : 'no' });
    assert.equal(chooseProvider([r('cuda', true), r('cpu', true)], undefined), 'cuda');
    assert.equal(chooseProvider([r('cuda', false), r('webgpu', true), r('cpu', true)], undefined), 'cpu');
    assert.equal(chooseProvider([r('webgpu', true), r('cpu', true)], 'webgpu'), 'webgpu');
    assert.equal(chooseProvider([r('cuda', false), r('cpu', true)], 'cuda'), 'cpu');
    assert.equal(chooseProvider([r('cpu', false)], undefined), 'cpu');
  });
});
