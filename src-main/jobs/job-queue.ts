// Main's job queue. Two lanes, each FIFO with one job running at a time: the 'engine' lane (generation,
// training, probes: the engine runs one task at a time) and the 'main' lane (library scans, which run in
// main's own process alongside an engine job). Every change is pushed to listeners (the contract's
// 'job.updated' event) and state changes are persisted, so a crash of the app leaves honest records: on
// start, whatever the previous process left queued or running becomes 'failed' (kind 'interrupted').

import { randomUUID } from 'node:crypto';
import type { ErrorInfo, JobInfo, JobKind, JobProgress } from '../common/contract.ts';
import { toErrorInfo } from '../common/errors.ts';
import type { TaskProgress } from '../engine/protocol.ts';
import { asDiskWriteError } from '../formats/atomic-file.ts';
import type { EngineSupervisor } from './engine-supervisor.ts';

/** Where job records are kept; the library's JobStore (src-main/library/job-store.ts) fits this. */
export interface JobRecordStore {
  insert(job: JobInfo): void;
  update(job: JobInfo): boolean;
  /** Newest first. */
  list(options?: { limit?: number }): JobInfo[];
  /** Crash recovery: every queued or running record becomes failed with kind 'interrupted'. */
  markRunningAsFailed(reason: string, now?: Date): number;
  /** Deletes finished records beyond the newest `keep`. */
  prune?(keep: number): number;
}

export type JobLane = 'engine' | 'main';

export interface JobContext {
  jobId: string;
  /** Aborted when the job is cancelled: stop at the next step and throw (signal.throwIfAborted()). */
  signal: AbortSignal;
  progress(p: TaskProgress): void;
}

export interface JobSpec {
  kind: JobKind;
  title: string;
  lane: JobLane;
  run(ctx: JobContext): Promise<unknown>;
}

export interface EngineJobSpec {
  kind: JobKind;
  title: string;
  /** A task registered in the engine process (`registerTask`). */
  task: string;
  payload: unknown;
}

export interface JobUpdate {
  job: JobInfo;
  /** The engine's preview of this progress step, when it sent one (not persisted, not in JobInfo). */
  preview?: Uint8Array;
}

export interface JobOutcome {
  job: JobInfo;
  result: unknown;
}

interface Entry {
  info: JobInfo;
  spec: JobSpec;
  abort: AbortController;
  result?: unknown;
  waiters: Array<(o: JobOutcome) => void>;
}

const FINISHED_STATES = new Set(['done', 'failed', 'cancelled']);
const HISTORY = 200;
/** Job records kept in the store across runs of the app. */
const STORED = 1000;
/** Finished jobs whose results stay in memory for `wait` (results may be pictures); older ones are dropped. */
const RESULTS_KEPT = 32;

export interface JobQueueOptions {
  store?: JobRecordStore;
  supervisor?: EngineSupervisor;
  /** The folder the store writes into, named when it is full (default: the store's own message). */
  storeFolder?: string;
  /**
   * Hears a job record the store could not write (a full disk). The queue carries on from memory: the job
   * still runs, ends and is reported; at the next start the unwritten record reads as interrupted.
   */
  onStoreError?: (error: Error, job: JobInfo) => void;
}

export class JobQueue {
  private readonly entries = new Map<string, Entry>();
  /** Ids of this run's finished jobs, oldest first, for trimming memory. */
  private readonly finished: string[] = [];
  /** Finished jobs of earlier runs of the app, newest first. */
  private readonly history: JobInfo[];
  private readonly lanes: Record<JobLane, { waiting: Entry[]; running: Entry | null }> = {
    engine: { waiting: [], running: null },
    main: { waiting: [], running: null },
  };
  private readonly listeners = new Set<(u: JobUpdate) => void>();
  private disposed = false;

  constructor(private readonly options: JobQueueOptions = {}) {
    const store = options.store;
    if (store) {
      // on a full disk the cleanup cannot be written; the list can still be read, and the app must start
      this.storeWrite(null, () => {
        store.markRunningAsFailed('Hintbrush stopped while this job was unfinished (the app quit or crashed).');
        store.prune?.(STORED);
      });
      this.history = store.list({ limit: HISTORY });
    } else {
      this.history = [];
    }
  }

  onUpdate(listener: (u: JobUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Queues a job; returns its record (state 'queued', or already 'running' when its lane was free). */
  enqueue(spec: JobSpec): JobInfo {
    if (this.disposed) throw Object.assign(new Error('The job queue is closed.'), { kind: 'app-closing' });
    const info: JobInfo = {
      id: randomUUID(),
      kind: spec.kind,
      state: 'queued',
      title: spec.title,
      progress: { step: 0, total: 0, message: 'Waiting' },
      error: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    };
    const entry: Entry = { info, spec, abort: new AbortController(), waiters: [] };
    // Refused before it exists when not even its record fits on the disk: its work would need room as well.
    try {
      this.options.store?.insert(info);
    } catch (err) {
      throw this.diskError(err, info) ?? err;
    }
    this.entries.set(info.id, entry);
    this.lanes[spec.lane].waiting.push(entry);
    this.emit(entry);
    this.pump(spec.lane);
    return { ...info };
  }

  /** Queues a task for the engine process (see src-main/engine/engine-process.ts `registerTask`). */
  enqueueEngine(spec: EngineJobSpec): JobInfo {
    const supervisor = this.options.supervisor;
    if (!supervisor) throw new Error('JobQueue: no engine supervisor to run engine jobs');
    return this.enqueue({
      kind: spec.kind,
      title: spec.title,
      lane: 'engine',
      run: (ctx) => supervisor.run(ctx.jobId, spec.task, spec.payload, { signal: ctx.signal, onProgress: ctx.progress }),
    });
  }

  /** Queued: cancelled at once. Running: asked to stop (it ends within one step). False if already over. */
  cancel(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry || FINISHED_STATES.has(entry.info.state)) return false;
    if (entry.info.state === 'queued') {
      const lane = this.lanes[entry.spec.lane];
      lane.waiting = lane.waiting.filter((e) => e !== entry);
      entry.abort.abort();
      this.settle(entry, 'cancelled', null);
      return true;
    }
    entry.abort.abort();
    return true;
  }

  get(id: string): JobInfo | undefined {
    const entry = this.entries.get(id);
    if (entry) return { ...entry.info };
    const old = this.history.find((j) => j.id === id);
    return old ? { ...old } : undefined;
  }

  /** Jobs of this run and of earlier runs, newest first. */
  list(): JobInfo[] {
    const current = [...this.entries.values()].map((e) => ({ ...e.info })).reverse();
    return [...current, ...this.history].slice(0, HISTORY);
  }

  /** Resolves when the job has finished (done, failed or cancelled), with its result when done. */
  wait(id: string): Promise<JobOutcome> {
    const entry = this.entries.get(id);
    if (!entry) {
      const old = this.history.find((j) => j.id === id);
      if (old) return Promise.resolve({ job: { ...old }, result: undefined });
      return Promise.reject(new Error(`no job ${id}`));
    }
    if (FINISHED_STATES.has(entry.info.state)) return Promise.resolve({ job: { ...entry.info }, result: entry.result });
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /** Cancels everything and waits for the running jobs to end (app quit). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const running = [...this.entries.values()].filter((e) => !FINISHED_STATES.has(e.info.state));
    for (const e of running) this.cancel(e.info.id);
    await Promise.all(running.map((e) => this.wait(e.info.id)));
  }

  // ---- internals ------------------------------------------------------------------------------------

  private pump(laneName: JobLane): void {
    const lane = this.lanes[laneName];
    if (lane.running || lane.waiting.length === 0) return;
    const entry = lane.waiting.shift()!;
    lane.running = entry;
    entry.info.state = 'running';
    entry.info.progress = { step: 0, total: 0, message: 'Starting' };
    this.storeWrite(entry.info, (store) => store.update(entry.info));
    this.emit(entry);
    const ctx: JobContext = {
      jobId: entry.info.id,
      signal: entry.abort.signal,
      progress: (p) => {
        if (FINISHED_STATES.has(entry.info.state)) return;
        entry.info.progress = { step: p.step, total: p.total, message: p.message };
        this.emit(entry, p.preview);
      },
    };
    let promise: Promise<unknown>;
    try {
      promise = Promise.resolve(entry.spec.run(ctx));
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (result) => {
        // Finished before it saw the cancel: the work is done, so say so.
        entry.result = result;
        this.settle(entry, 'done', null);
      },
      (err) => {
        // a database write of the job's own that hit a full disk says so in words, like a file write does
        const sqlite = String((err as { code?: unknown })?.code ?? '').startsWith('SQLITE_');
        const info = toErrorInfo((sqlite && this.diskError(err, entry.info, `what job "${entry.info.title}" wrote`)) || err);
        if (info.kind === 'cancelled' || (entry.abort.signal.aborted && info.kind !== 'engine-crashed')) {
          this.settle(entry, 'cancelled', null);
        } else this.settle(entry, 'failed', info);
      },
    ).catch((err) => {
      // only a listener can throw here (settle guards the store); the job has its outcome, the lane goes on
      console.error(`Hintbrush: job ${entry.info.id} ended with an error in its listeners: ${(err as Error)?.stack ?? String(err)}`);
    }).finally(() => {
      lane.running = null;
      this.pump(laneName);
    });
  }

  private settle(entry: Entry, state: 'done' | 'failed' | 'cancelled', error: ErrorInfo | null): void {
    entry.info.state = state;
    entry.info.error = error;
    entry.info.finishedAt = new Date().toISOString();
    if (state === 'cancelled') entry.info.progress = { ...entry.info.progress, message: 'Cancelled' };
    if (state === 'done') entry.info.progress = doneProgress(entry.info.progress);
    // Never throws: settle runs in the job promise's handlers, where a throw would be an unhandled rejection
    // that ends the process (a full disk used to stop the server here) and the waiters would never hear.
    this.storeWrite(entry.info, (store) => store.update(entry.info));
    this.emit(entry);
    const outcome = { job: { ...entry.info }, result: entry.result };
    this.retire(entry.info.id);
    for (const w of entry.waiters.splice(0)) w(outcome);
  }

  /** Runs a write of the store; a failure goes to onStoreError (or stderr) with the job's id, never up. */
  private storeWrite(job: JobInfo | null, write: (store: JobRecordStore) => unknown): void {
    const store = this.options.store;
    if (!store) return;
    try {
      write(store);
    } catch (err) {
      const error = this.diskError(err, job) ?? (err instanceof Error ? err : new Error(String(err)));
      if (this.options.onStoreError && job) this.options.onStoreError(error, { ...job });
      else console.error(`Hintbrush: the record of job ${job?.id ?? '(start-up cleanup)'} could not be written: ${error.message}`);
    }
  }

  private diskError(err: unknown, job: JobInfo | null, what = job ? `the record of job "${job.title}"` : 'the job list'): Error | null {
    return asDiskWriteError(err, this.options.storeFolder ?? 'the data folder', null, what);
  }

  /** Keeps a long session's memory bounded: old results are dropped, then old records. */
  private retire(id: string): void {
    this.finished.push(id);
    const stale = this.finished[this.finished.length - 1 - RESULTS_KEPT];
    if (stale) delete this.entries.get(stale)?.result;
    if (this.finished.length > HISTORY) this.entries.delete(this.finished.shift()!);
  }

  private emit(entry: Entry, preview?: Uint8Array): void {
    const update: JobUpdate = preview ? { job: { ...entry.info }, preview } : { job: { ...entry.info } };
    for (const l of this.listeners) l(update);
  }
}

function doneProgress(p: JobProgress): JobProgress {
  return { step: p.total || p.step, total: p.total, message: 'Done' };
}

