// The supervisor against a real engine process (a Node child running engine-process.ts through tsx):
// a kill mid-job and a hang both fail the job with 'engine-crashed', the engine comes back, and the next
// job succeeds.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EngineJobError, EngineSupervisor } from './engine-supervisor.ts';
import { testSupervisor, until } from './test-engine.test-support.ts';

describe('EngineSupervisor', () => {
  const supervisors: EngineSupervisor[] = [];
  after(async () => {
    await Promise.all(supervisors.map((s) => s.stop()));
  });

  it('starts the engine, runs a task with progress and reports ready', async () => {
    const sup = testSupervisor();
    supervisors.push(sup);
    sup.start();
    await sup.whenReady();
    assert.ok(sup.taskNames().includes('sleep'));
    assert.ok(sup.taskNames().includes('probe'));
    const steps: number[] = [];
    const result = (await sup.run('j1', 'sleep', { steps: 3, stepMs: 10 }, { onProgress: (p) => steps.push(p.step) })) as {
      steps: number;
    };
    assert.equal(result.steps, 3);
    assert.deepEqual(steps, [1, 2, 3]);
    assert.equal(sup.status().state, 'ready');
    assert.equal(typeof sup.status().pid, 'number');
  });

  it('fails the job in flight with engine-crashed when the engine is killed, then restarts', async () => {
    const sup = testSupervisor();
    supervisors.push(sup);
    sup.start();
    await sup.whenReady();
    const pid = sup.status().pid!;
    let stepsSeen = 0;
    const job = sup.run('j-crash', 'sleep', { steps: 100, stepMs: 50 }, { onProgress: () => stepsSeen++ });
    await until(() => stepsSeen >= 2);
    const seen: Array<[string, number | null]> = [];
    sup.onStatus((s) => seen.push([s.state, s.pid]));
    process.kill(pid, 'SIGKILL');
    await assert.rejects(job, (err: EngineJobError) => {
      assert.equal(err.kind, 'engine-crashed');
      assert.match(err.message, /killed \(SIGKILL\)/);
      return true;
    });
    await until(() => sup.status().state === 'ready' && sup.status().pid !== pid);
    assert.deepEqual(seen.filter(([, p]) => p === pid), [], 'no status names the dead process once it died');
    assert.deepEqual(seen[0], ['crashed', null]);
    assert.equal(sup.status().restarts, 1);
    assert.match(sup.status().lastError, /SIGKILL/);
    const after = (await sup.run('j-next', 'sleep', { steps: 2, stepMs: 5 })) as { pid: number };
    assert.equal(after.pid, sup.status().pid);
  });

  it('counts a hang (no answer to pings) as a crash', async () => {
    const sup = testSupervisor({ hangMs: 600, busyHangMs: 600 });
    supervisors.push(sup);
    sup.start();
    await sup.whenReady();
    const pid = sup.status().pid!;
    let stepsSeen = 0;
    const job = sup.run('j-hang', 'sleep', { steps: 1000, stepMs: 20 }, { onProgress: () => stepsSeen++ });
    await until(() => stepsSeen >= 1);
    process.kill(pid, 'SIGSTOP'); // frozen: alive, but answers nothing
    const started = Date.now();
    await assert.rejects(job, (err: EngineJobError) => {
      assert.equal(err.kind, 'engine-crashed');
      assert.match(err.message, /stopped answering/);
      return true;
    });
    assert.ok(Date.now() - started < 3_000, 'hang detected within a few heartbeats');
    await until(() => sup.status().state === 'ready' && sup.status().pid !== pid);
    assert.ok(sup.status().restarts >= 1);
    assert.deepEqual(await sup.run('j-after-hang', 'sleep', { steps: 1, stepMs: 1 }), { steps: 1, pid: sup.status().pid });
  });

  it('cancels a running task within one step', async () => {
    const sup = testSupervisor();
    supervisors.push(sup);
    sup.start();
    await sup.whenReady();
    const abort = new AbortController();
    let stepsSeen = 0;
    const job = sup.run('j-cancel', 'sleep', { steps: 100, stepMs: 200 }, {
      signal: abort.signal,
      onProgress: () => stepsSeen++,
    });
    await until(() => stepsSeen >= 1);
    const t0 = Date.now();
    abort.abort();
    await assert.rejects(job, (err: EngineJobError) => err.kind === 'cancelled');
    assert.ok(Date.now() - t0 < 200, `ended within one step (${Date.now() - t0} ms)`);
    assert.ok(stepsSeen < 3);
    assert.equal(sup.status().restarts, 0);
  });

  it('reports an unknown task and bad payloads with their kinds', async () => {
    const sup = testSupervisor();
    supervisors.push(sup);
    sup.start();
    await assert.rejects(sup.run('j-unknown', 'no-such-task', {}), (err: EngineJobError) => err.kind === 'unknown-task');
    await assert.rejects(sup.run('j-bad', 'sleep', { steps: -1 }), (err: EngineJobError) => err.kind === 'bad-request');
  });

  it('restarts with growing backoff when the engine cannot start', async () => {
    let launches = 0;
    const sup = new EngineSupervisor({
      launcher: () => {
        launches++;
        throw new Error('no such file');
      },
      backoffInitialMs: 20,
      backoffMaxMs: 80,
    });
    supervisors.push(sup);
    sup.start();
    await until(() => launches >= 4);
    assert.equal(sup.status().state, 'restarting');
    assert.match(sup.status().lastError, /could not be started: no such file/);
    await sup.stop();
    assert.equal(sup.status().state, 'stopped');
  });

  it('shows a fused graph a provider refused beside the providers, once', () => {
    const sup = new EngineSupervisor({
      launcher: () => {
        throw new Error('not started in this test');
      },
    });
    const line = 'cpu: fused GroupNorm refused (Could not find an implementation for GroupNorm(1) node); the plain graph runs instead';
    sup.noteFallbacks([line]);
    sup.noteFallbacks([line]);
    assert.deepEqual(sup.status().providers, [{ name: 'cpu', available: true, reason: line }]);
  });
});
