// The artist's provider choice on its way to the sessions: the supervisor hands it to every engine process
// before that process's first job and again when it changes; the engine takes it (provider and device id)
// and answers with a new `ready`; sessions then name the device in ORT's executionProviders.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ProviderSetting } from '../common/provider-setting.ts';
import { EngineSupervisor } from '../jobs/engine-supervisor.ts';
import type { EngineCallbacks } from '../jobs/engine-launcher.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { engineOnFakePort } from './engine-on-fake-port.test-support.ts';
import { chooseProvider, configureProvider } from './engine-process.ts';
import type { EngineToMain, MainToEngine } from './protocol.ts';
import { providerEntry } from './runtime/session.ts';

describe('supervisor: the choice reaches each engine process before its first job', () => {
  it('sends configure on ready, before the queued run; again only when the setting changed; again after a restart', async () => {
    const sent: MainToEngine[][] = [];
    const engines: EngineCallbacks[] = [];
    let setting: ProviderSetting = { provider: 'cuda', deviceId: 1 };
    const sup = new EngineSupervisor({
      launcher: (callbacks) => {
        const mine: MainToEngine[] = [];
        sent.push(mine);
        engines.push(callbacks);
        return { pid: 1000 + engines.length, send: (m) => mine.push(m), kill: () => setTimeout(() => callbacks.onExit({ code: null, signal: 'SIGTERM' }), 1) };
      },
      providerChoice: () => setting,
      backoffInitialMs: 5,
    });
    try {
      sup.start();
      const job = sup.run('j1', 'sleep', {}); // queued while the engine starts
      const ready = (provider: string): EngineToMain => ({ type: 'ready', pid: 1, provider, providers: [], tasks: ['sleep'] });
      engines[0].onMessage(ready('cpu'));
      assert.deepEqual(sent[0].map((m) => m.type), ['configure', 'run']);
      assert.deepEqual(sent[0][0], { type: 'configure', provider: 'cuda', deviceId: 1 });
      engines[0].onMessage({ type: 'result', jobId: 'j1', result: 'ok' });
      assert.equal(await job, 'ok');

      engines[0].onMessage(ready('cuda')); // the engine's answer to configure: nothing new to send
      sup.applyProviderChoice();
      assert.equal(sent[0].filter((m) => m.type === 'configure').length, 1);
      setting = { provider: 'dml', deviceId: 0 };
      sup.applyProviderChoice();
      assert.deepEqual(sent[0].at(-1), { type: 'configure', provider: 'dml', deviceId: 0 });
      assert.equal(sup.status().provider, 'cuda');

      engines[0].onExit({ code: 1, signal: null }); // crash: the next process gets the choice too
      await until(() => engines.length === 2);
      engines[1].onMessage(ready('cpu'));
      assert.deepEqual(sent[1][0], { type: 'configure', provider: 'dml', deviceId: 0 });
    } finally {
      await sup.stop();
    }
  });
});

describe('engine: takes the choice', () => {
  const port = engineOnFakePort();
  after(() => configureProvider({ provider: 'auto', deviceId: 0 }));

  it('answers configure with ready, and CUDA/DirectML sessions name the chosen device', () => {
    port.send({ type: 'configure', provider: 'cuda', deviceId: 2 });
    const readies = port.received.filter((m) => m.type === 'ready');
    assert.equal(readies.length, 2, 'the start-up ready and the answer');
    assert.equal((readies[1] as { provider: string }).provider, 'cpu', 'CUDA does not run here: the best that does');
    assert.deepEqual(providerEntry('cuda'), { name: 'cuda', deviceId: 2 });
    assert.deepEqual(providerEntry('dml'), { name: 'dml', deviceId: 2 });
    assert.equal(providerEntry('cpu'), 'cpu');

    port.send({ type: 'configure', provider: 'auto', deviceId: 0 });
    assert.equal(providerEntry('cuda'), 'cuda', 'auto: ORT chooses the device');
    port.send({ type: 'configure', provider: 'tpu', deviceId: 0 });
    assert.equal(port.received.filter((m) => m.type === 'ready').length, 3, 'an unknown provider is ignored');
  });

  it('a job in flight keeps its GPU: the choice applies when it ends', async () => {
    port.send({ type: 'configure', provider: 'dml', deviceId: 1 });
    assert.deepEqual(providerEntry('dml'), { name: 'dml', deviceId: 1 });
    port.send({ type: 'run', jobId: 'busy', task: 'sleep', payload: { steps: 2, stepMs: 30 } });
    const readiesBefore = port.received.filter((m) => m.type === 'ready').length;
    port.send({ type: 'configure', provider: 'dml', deviceId: 3 });
    assert.deepEqual(providerEntry('dml'), { name: 'dml', deviceId: 1 }, 'unchanged while the job runs');
    await until(() => port.received.some((m) => m.type === 'result' && m.jobId === 'busy'));
    await until(() => port.received.filter((m) => m.type === 'ready').length === readiesBefore + 1);
    assert.deepEqual(providerEntry('dml'), { name: 'dml', deviceId: 3 });
  });

  it('an explicit choice wins over the automatic order when it works, and falls back when it does not', () => {
    const r = (name: string, available: boolean) => ({ name, available, reason: available ? '' : 'no' });
    assert.equal(chooseProvider([r('cuda', true), r('cpu', true)], 'cpu'), 'cpu');
    assert.equal(chooseProvider([r('cuda', true), r('webgpu', true), r('cpu', true)], 'webgpu'), 'webgpu');
    assert.equal(chooseProvider([r('cuda', false), r('cpu', true)], 'cuda'), 'cpu');
  });
});
