import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { JobInfo } from '../common/contract.ts';
import { openLibraryDatabase } from '../library/database.ts';
import { JobStore } from '../library/job-store.ts';
import type { EngineSupervisor } from './engine-supervisor.ts';
import { JobQueue, type JobRecordStore, type JobUpdate } from './job-queue.ts';
import { testSupervisor, until } from './test-engine.test-support.ts';

/** A JobRecordStore in memory, to check what the queue writes. */
class MemoryJobStore implements JobRecordStore {
  readonly rows = new Map<string, JobInfo>();
  insert(job: JobInfo) {
    this.rows.set(job.id, { ...job });
  }
  update(job: JobInfo) {
    if (!this.rows.has(job.id)) return false;
    this.rows.set(job.id, { ...job });
    return true;
  }
  list() {
    return [...this.rows.values()].reverse();
  }
  markRunningAsFailed(reason: string) {
    let n = 0;
    for (const j of this.rows.values()) {
      if (j.state === 'queued' || j.state === 'running') {
        Object.assign(j, { state: 'failed', error: { kind: 'interrupted', message: reason } });
        n++;
      }
    }
    return n;
  }
}

/** A main-lane job that takes `steps` ticks of `ms` and honours its signal. */
function ticking(steps: number, ms: number, kind: 'scan' | 'probe' = 'scan') {
  return {
    kind,
    title: `tick ${steps}`,
    lane: 'main' as const,
    async run(ctx: { signal: AbortSignal; progress(p: { step: number; total: number; message: string }): void }) {
      for (let step = 1; step <= steps; step++) {
        await new Promise((r) => setTimeout(r, ms));
        ctx.signal.throwIfAborted();
        ctx.progress({ step, total: steps, message: `tick ${step}` });
      }
      return steps;
    },
  };
}

describe('JobQueue', () => {
  const supervisors: EngineSupervisor[] = [];
  after(async () => {
    await Promise.all(supervisors.map((s) => s.stop()));
  });

  it('runs a lane first in, first out, one at a time, and reports progress', async () => {
    const queue = new JobQueue();
    const order: string[] = [];
    queue.onUpdate(({ job }) => {
      if (job.state === 'running' && !order.includes(job.title)) order.push(job.title);
    });
    const a = queue.enqueue(ticking(3, 5));
    const b = queue.enqueue(ticking(2, 5));
    assert.equal(queue.get(b.id)!.state, 'queued');
    const [ra, rb] = await Promise.all([queue.wait(a.id), queue.wait(b.id)]);
    assert.deepEqual(order, ['tick 3', 'tick 2']);
    assert.equal(ra.job.state, 'done');
    assert.equal(ra.result, 3);
    assert.deepEqual(rb.job.progress, { step: 2, total: 2, message: 'Done' });
    assert.deepEqual(queue.list().map((j) => j.id), [b.id, a.id]);
  });

  it('cancels a queued job at once and a running one at its next step', async () => {
    const queue = new JobQueue();
    const running = queue.enqueue(ticking(100, 20));
    const queued = queue.enqueue(ticking(1, 1));
    assert.equal(queue.cancel(queued.id), true);
    assert.equal(queue.get(queued.id)!.state, 'cancelled');
    await until(() => queue.get(running.id)!.progress.step >= 1);
    assert.equal(queue.cancel(running.id), true);
    const { job } = await queue.wait(running.id);
    assert.equal(job.state, 'cancelled');
    assert.ok(job.progress.step < 4);
    assert.equal(queue.cancel(running.id), false, 'a finished job cannot be cancelled');
  });

  it('runs a main-lane job alongside an engine job, and cancels the engine job within one step', async () => {
    const supervisor = testSupervisor();
    supervisors.push(supervisor);
    supervisor.start();
    const queue = new JobQueue({ supervisor });
    const updates: JobUpdate[] = [];
    queue.onUpdate((u) => updates.push(u));
    const engineJob = queue.enqueueEngine({ kind: 'probe', title: 'sleep', task: 'sleep', payload: { steps: 50, stepMs: 200 } });
    const scan = queue.enqueue(ticking(2, 5));
    assert.equal((await queue.wait(scan.id)).job.state, 'done');
    assert.equal(queue.get(engineJob.id)!.state, 'running', 'the scan did not wait for the engine job');
    await until(() => queue.get(engineJob.id)!.progress.step >= 1);
    const t0 = Date.now();
    queue.cancel(engineJob.id);
    const { job } = await queue.wait(engineJob.id);
    assert.equal(job.state, 'cancelled');
    assert.ok(Date.now() - t0 < 200, `ended within one 200 ms step (${Date.now() - t0} ms)`);
    assert.ok(job.progress.step <= 2);
    assert.ok(updates.some((u) => u.job.id === engineJob.id && u.job.progress.message === 'step 1 of 50'));
  });

  it('fails the engine job with engine-crashed when the engine dies, and the next job succeeds', async () => {
    const supervisor = testSupervisor();
    supervisors.push(supervisor);
    supervisor.start();
    await supervisor.whenReady();
    const queue = new JobQueue({ supervisor, store: new MemoryJobStore() });
    const doomed = queue.enqueueEngine({ kind: 'generate', title: 'doomed', task: 'sleep', payload: { steps: 100, stepMs: 50 } });
    const next = queue.enqueueEngine({ kind: 'generate', title: 'next', task: 'sleep', payload: { steps: 2, stepMs: 5 } });
    await until(() => queue.get(doomed.id)!.progress.step >= 1);
    process.kill(supervisor.status().pid!, 'SIGKILL');
    const failed = await queue.wait(doomed.id);
    assert.equal(failed.job.state, 'failed');
    assert.equal(failed.job.error?.kind, 'engine-crashed');
    const ok = await queue.wait(next.id);
    assert.equal(ok.job.state, 'done');
    assert.equal(supervisor.status().restarts, 1);
  });

  it('persists jobs and, after a crash of the app, marks unfinished ones failed on start', async () => {
    const store = new MemoryJobStore();
    const first = new JobQueue({ store });
    const done = first.enqueue(ticking(1, 1));
    await first.wait(done.id);
    const running = first.enqueue(ticking(1000, 50)); // the "crash": this queue is simply abandoned
    const queued = first.enqueue(ticking(1, 1));
    await until(() => store.rows.get(running.id)!.state === 'running');
    assert.equal(store.rows.get(queued.id)!.state, 'queued');

    const second = new JobQueue({ store });
    for (const id of [running.id, queued.id]) {
      const job = second.get(id)!;
      assert.equal(job.state, 'failed');
      assert.equal(job.error?.kind, 'interrupted');
    }
    assert.equal(second.get(done.id)!.state, 'done');
    assert.equal(second.list().length, 3);
    first.cancel(running.id);
  });

  it('keeps the results of recent jobs only, so a long session stays small', async () => {
    const queue = new JobQueue();
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(queue.enqueue({ kind: 'probe', title: `j${i}`, lane: 'main', run: async () => i }).id);
    await queue.wait(ids[39]);
    assert.equal((await queue.wait(ids[39])).result, 39);
    assert.equal((await queue.wait(ids[0])).result, undefined, 'an old result was dropped');
    assert.equal(queue.get(ids[0])?.state, 'done', 'its record stays');
  });

  it('works over the library JobStore (SQLite)', async () => {
    const db = openLibraryDatabase(':memory:');
    const queue = new JobQueue({ store: new JobStore(db) });
    const job = queue.enqueue(ticking(2, 1));
    const hanging = queue.enqueue({ kind: 'train', title: 'forever', lane: 'engine', run: () => new Promise(() => {}) });
    await queue.wait(job.id);
    const recovered = new JobQueue({ store: new JobStore(db) });
    assert.equal(recovered.get(job.id)!.state, 'done');
    assert.equal(recovered.get(hanging.id)!.state, 'failed');
    assert.equal(recovered.get(hanging.id)!.error?.kind, 'interrupted');
    db.close();
  });
});

describe('JobQueue on a full disk (SQLite at its size limit)', () => {
  /** Fills the database until SQLite says 'database or disk is full', as a full disk does. */
  function fillDatabase(db: ReturnType<typeof openLibraryDatabase>, store: JobStore): void {
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    const filler = (i: number, size: number): JobInfo => ({
      id: `filler-${size}-${i}`,
      kind: 'probe',
      state: 'done',
      title: 'f'.repeat(size),
      progress: { step: 0, total: 0, message: '' },
      error: null,
      createdAt: '2020-01-01T00:00:00.000Z',
      finishedAt: '2020-01-01T00:00:00.000Z',
    });
    // big rows first, then ever smaller ones into the pages' last free bytes
    for (const size of [700, 100, 10, 1]) {
      assert.throws(() => {
        for (let i = 0; i < 100_000; i++) store.insert(filler(i, size));
      }, /database or disk is full/);
    }
  }

  it('a record that cannot be written neither stops the queue nor loses the outcome; a new job is refused with disk-full', async () => {
    const db = openLibraryDatabase(':memory:');
    const store = new JobStore(db);
    const problems: Array<{ error: Error & { kind?: string }; job: JobInfo }> = [];
    const queue = new JobQueue({ store, storeFolder: '/data/hintbrush', onStoreError: (error, job) => problems.push({ error, job }) });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // its failure message is long, so the record must grow when it settles: the write needs new pages
      const doomed = queue.enqueue({ kind: 'generate', title: 'fills the disk', lane: 'main', run: async () => { await gate; throw new Error('x'.repeat(20_000)); } });
      const succeeding = queue.enqueue({ kind: 'scan', title: 'next', lane: 'main', run: async () => 'y'.repeat(10) });
      fillDatabase(db, store);
      release();
      const failed = await queue.wait(doomed.id);
      assert.equal(failed.job.state, 'failed');
      assert.equal((await queue.wait(succeeding.id)).job.state, 'done', 'the lane went on to the next job');
      assert.ok(problems.length >= 1);
      assert.equal(problems[0].job.id, doomed.id);
      assert.equal(problems[0].error.kind, 'disk-full');
      assert.match(problems[0].error.message, /disk is full: could not save the record of job "fills the disk" in \/data\/hintbrush/);
      // nothing fits, not even a new job's record: refused up front, in words
      assert.throws(
        () => queue.enqueue({ kind: 'scan', title: 'refused', lane: 'main', run: async () => 1 }),
        (e: Error & { kind?: string }) => e.kind === 'disk-full' && /\/data\/hintbrush/.test(e.message),
      );
      assert.equal(queue.list().some((j) => j.title === 'refused'), false, 'a refused job leaves no phantom entry');
      // space freed: the queue works as before and its records are written again
      db.pragma('max_page_count = 1073741823');
      const after = queue.enqueue({ kind: 'scan', title: 'after', lane: 'main', run: async () => 2 });
      assert.equal((await queue.wait(after.id)).result, 2);
      assert.equal(store.get(after.id)?.state, 'done');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      db.close();
    }
  });

  it("a job's own database write on a full disk (a scan's rows) fails it with disk-full, naming the data folder", async () => {
    const queue = new JobQueue({ storeFolder: '/data/hintbrush' });
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    const job = queue.enqueue({ kind: 'scan', title: 'Scan models', lane: 'main', run: async () => { throw full; } });
    const { job: failed } = await queue.wait(job.id);
    assert.equal(failed.error?.kind, 'disk-full');
    assert.match(failed.error!.message, /disk is full: could not save what job "Scan models" wrote in \/data\/hintbrush/);
    const other = queue.enqueue({ kind: 'scan', title: 'x', lane: 'main', run: async () => { throw Object.assign(new Error('no such table'), { code: 'SQLITE_ERROR' }); } });
    assert.equal((await queue.wait(other.id)).job.error?.kind, 'internal', 'other database errors keep their kind');
  });
});
