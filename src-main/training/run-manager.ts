// The life of training runs in main: each stretch of work is a 'train' job in the engine lane; its progress
// lines become the run's step, loss curve, ETA and samples (stored, and pushed as 'training.progress'); its end
// decides the run's state. Pause and cancel both stop the job after its current step (the engine writes a
// checkpoint then); main remembers which was asked. A crash of the engine leaves the run 'interrupted', resumable
// from its last checkpoint; so does a crash of the app (marked at the next start).
//
// GPU policy (training-contract.ts): while a run has a job queued or running, generation and annotation are
// refused with kind 'training-running' (guard()).

import fs from 'node:fs';
import path from 'node:path';
import type { ErrorInfo, LibraryItem } from '../common/contract.ts';
import { trainingSampleUrl, type TrainingRunInfo, type TrainingRunState } from '../common/training-contract.ts';
import { parseTrainProgress, type TrainedResult, type TrainPayload } from '../engine/tasks/train-payload.ts';
import type { TaskProgress } from '../engine/protocol.ts';
import type { EngineSupervisor } from '../jobs/engine-supervisor.ts';
import type { JobOutcome, JobQueue } from '../jobs/job-queue.ts';
import type { EventBus } from '../base/event-bus.ts';
import { containedFileSync } from '../base/contained-file.ts';
import { kindError, toErrorInfo } from '../common/errors.ts';
import { asDiskWriteError, writeFileAtomic } from '../formats/atomic-file.ts';
import { CHECKPOINT_FILE, checkpointProgress } from '../engine/training/checkpoint.ts';
import type { StoredRun, TrainingStore } from './training-store.ts';

export interface RunManagerOptions {
  dataDir: string;
  mode: 'electron' | 'browser';
  queue: JobQueue;
  supervisor: EngineSupervisor;
  library: { list(): LibraryItem[]; add(paths: readonly string[]): Promise<unknown> };
  events: EventBus;
  store: TrainingStore;
  now?: () => Date;
}

interface Live {
  jobId: string;
  intent: 'run' | 'pause' | 'cancel';
  run: StoredRun;
  etaSeconds: number | null;
  persistedAt: number;
  /** Why main paused the run itself (a full disk while saving its sample or curve): the run's error once paused. */
  problem?: ErrorInfo;
}

const PERSIST_MS = 2000;

export class RunManager {
  private readonly live = new Map<number, Live>();
  private readonly settled = new Set<Promise<void>>();

  constructor(private readonly o: RunManagerOptions) {
    o.store.markUnfinishedInterrupted(this.now());
    // As after an engine crash (settle()): the checkpoint on disk is where the resume starts, and its losses
    // are the curve up to there; the record may have been persisted at a later step than the checkpoint.
    for (const run of o.store.runs().filter((r) => r.state === 'interrupted')) {
      const saved = checkpointProgress(path.join(this.runDir(run.id), CHECKPOINT_FILE));
      const patch = saved ? { checkpointStep: saved.step, step: saved.step, losses: saved.losses } : { checkpointStep: 0, step: 0, losses: [] };
      if (patch.checkpointStep !== run.checkpointStep || patch.step !== run.step) o.store.updateRun(run.id, patch, this.now());
    }
  }

  private now(): string {
    return (this.o.now?.() ?? new Date()).toISOString();
  }

  private runDir(runId: number): string {
    return path.join(this.o.dataDir, 'training', 'runs', String(runId));
  }

  /** Queues a job for the run (a fresh start, or a resume from its checkpoint). */
  enqueue(run: StoredRun, payload: TrainPayload): string {
    const runId = run.id;
    // Registered before queueing: a free lane starts the job inside enqueue().
    const live: Live = { jobId: '', intent: 'run', run: { ...run, state: 'queued' }, etaSeconds: null, persistedAt: 0 };
    this.live.set(runId, live);
    const job = this.o.queue.enqueue({
      kind: 'train',
      title: `Train ${run.settings.outputName} (${run.settings.recipe === 'style' ? 'style LoRA' : 'CtrLoRA condition'})`,
      lane: 'engine',
      run: (ctx) => {
        this.update(runId, { state: 'running' }, true);
        return this.o.supervisor.run(ctx.jobId, 'train', payload, {
          signal: ctx.signal,
          onProgress: (p) => {
            ctx.progress(p);
            this.progress(runId, ctx.jobId, p);
          },
        });
      },
    });
    live.jobId = job.id;
    this.update(runId, { state: live.run.state, jobId: job.id, error: null }, true);
    // A failure to record the end (the database closed at quit) leaves the run 'running': the next start marks
    // it interrupted, and it resumes from its checkpoint.
    const done = this.o.queue.wait(job.id).then((outcome) => this.settle(runId, outcome)).catch(() => undefined);
    this.settled.add(done);
    void done.finally(() => this.settled.delete(done));
    return job.id;
  }

  /** Resolves when every job's end has been recorded (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.settled.size) await Promise.all([...this.settled]);
  }

  /** Why a GPU job cannot start now, or null. */
  busyReason(): string | null {
    for (const l of this.live.values()) {
      const s = l.run.settings;
      const where = l.run.state === 'running' ? `is training (step ${l.run.step} of ${l.run.total})` : 'is about to train';
      return `The GPU is busy: "${s.outputName}" ${where}. Pause it to generate; it resumes where it stopped.`;
    }
    return null;
  }

  /** Wraps the handlers of GPU methods so they are refused while a run trains. */
  guard<H extends Record<string, (input: never) => unknown>>(handlers: H, methods: readonly (keyof H)[]): H {
    const out = { ...handlers };
    for (const m of methods) {
      const inner = handlers[m];
      out[m] = ((input: never) => {
        const reason = this.busyReason();
        if (reason) throw kindError('training-running', reason);
        return inner(input);
      }) as H[keyof H];
    }
    return out;
  }

  isLive(runId: number): boolean {
    return this.live.has(runId);
  }

  pause(runId: number): boolean {
    const l = this.live.get(runId);
    if (!l) return false;
    l.intent = 'pause';
    return this.o.queue.cancel(l.jobId);
  }

  cancel(runId: number): boolean {
    const l = this.live.get(runId);
    if (l) {
      l.intent = 'cancel';
      return this.o.queue.cancel(l.jobId);
    }
    const run = this.o.store.run(runId);
    if (!run || !['paused', 'interrupted', 'failed'].includes(run.state)) return false;
    fs.rmSync(path.join(this.runDir(runId), CHECKPOINT_FILE), { force: true });
    this.o.store.updateRun(runId, { state: 'cancelled', checkpointStep: 0 }, this.now());
    return true;
  }

  private update(runId: number, patch: Parameters<TrainingStore['updateRun']>[1], persist: boolean): void {
    const l = this.live.get(runId);
    if (l) Object.assign(l.run, patch);
    if (persist || !l) {
      this.o.store.updateRun(runId, patch, this.now());
      if (l) l.persistedAt = Date.now();
    }
  }

  /**
   * Runs inside the supervisor's message handler, where a throw would end main: a full disk (or any other
   * failure to record the step) pauses the run with the reason instead; its checkpoint is where it resumes.
   */
  private progress(runId: number, jobId: string, p: TaskProgress): void {
    try {
      this.recordProgress(runId, jobId, p);
    } catch (err) {
      const l = this.live.get(runId);
      if (!l || l.intent !== 'run') return;
      l.problem = toErrorInfo(asDiskWriteError(err, this.runDir(runId), p.preview?.byteLength ?? null, p.preview ? `the sample picture of step ${p.step}` : `the progress of step ${p.step}`) ?? err);
      this.pause(runId);
    }
  }

  private recordProgress(runId: number, jobId: string, p: TaskProgress): void {
    const l = this.live.get(runId);
    const parsed = parseTrainProgress(p.message);
    if (!l || !parsed || p.step < 1) return;
    l.etaSeconds = parsed.etaSeconds;
    const losses = [...l.run.losses.slice(0, p.step - 1), parsed.loss];
    const patch: Parameters<TrainingStore['updateRun']>[1] = { step: p.step, total: p.total, losses };
    let samplePngBase64: string | undefined;
    if (p.preview) {
      writeFileAtomic(path.join(this.runDir(runId), 'samples', `${p.step}.png`), p.preview);
      patch.samples = [...l.run.samples.filter((s) => s !== p.step), p.step];
      samplePngBase64 = Buffer.from(p.preview).toString('base64');
    }
    this.update(runId, patch, p.preview !== undefined || Date.now() - l.persistedAt > PERSIST_MS);
    const event = { jobId, runId, step: p.step, total: p.total, loss: parsed.loss, etaSeconds: parsed.etaSeconds };
    this.o.events.emit('training.progress', samplePngBase64 ? { ...event, samplePngBase64 } : event);
  }

  private async settle(runId: number, outcome: JobOutcome): Promise<void> {
    const l = this.live.get(runId);
    if (!l) return;
    const { job } = outcome;
    let state: TrainingRunState;
    const patch: Parameters<TrainingStore['updateRun']>[1] = { jobId: null, step: l.run.step, losses: l.run.losses, samples: l.run.samples };
    if (job.state === 'done') {
      const result = outcome.result as TrainedResult;
      state = 'done';
      Object.assign(patch, { step: result.steps, losses: result.losses, checkpointStep: 0, resultPath: result.output, error: null });
      try {
        await this.o.library.add([result.output]);
        const real = fs.realpathSync(result.output);
        patch.resultModelId = this.o.library.list().find((i) => i.path === real || i.path === result.output)?.id ?? null;
      } catch (err) {
        patch.error = { kind: 'library', message: `The trained file ${result.output} could not be added to the library: ${(err as Error).message}` };
      }
    } else {
      if (job.state === 'cancelled') {
        state = l.intent === 'cancel' ? 'cancelled' : 'paused';
        if (l.problem) patch.error = l.problem;
      } else {
        state = job.error?.kind === 'engine-crashed' ? 'interrupted' : 'failed';
        patch.error = job.error;
      }
      const file = path.join(this.runDir(runId), CHECKPOINT_FILE);
      if (state === 'cancelled') {
        fs.rmSync(file, { force: true });
        patch.checkpointStep = 0;
      } else {
        // The checkpoint on disk is where a resume starts: the engine wrote it at the step it stopped at (pause),
        // or at the last checkpoint step before a crash; its losses are the run's curve up to there.
        const saved = checkpointProgress(file);
        Object.assign(patch, saved ? { checkpointStep: saved.step, step: saved.step, losses: saved.losses } : { checkpointStep: 0, step: 0, losses: [] });
      }
    }
    patch.state = state;
    this.live.delete(runId);
    this.o.store.updateRun(runId, patch, this.now());
    this.o.events.emit('training.finished', { jobId: job.id, runId, state, resultModelId: patch.resultModelId ?? null });
  }

  /** The contract's view of a run. */
  info(run: StoredRun): TrainingRunInfo {
    const l = this.live.get(run.id);
    const r = l ? { ...run, ...l.run } : run;
    return {
      id: r.id,
      jobId: l?.jobId ?? null,
      state: r.state,
      settings: r.settings,
      step: r.step,
      total: r.total,
      losses: r.losses,
      etaSeconds: l?.etaSeconds ?? null,
      checkpointStep: r.checkpointStep,
      samples: r.samples.map((step) => ({ step, imageUrl: trainingSampleUrl(r.id, step, this.o.mode) })),
      resultModelId: r.resultModelId,
      resultPath: r.resultPath,
      error: r.error,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  /** The stored sample picture of a run's step, or null. */
  sampleFile(runId: number, step: number): string | null {
    if (!Number.isSafeInteger(runId) || !Number.isSafeInteger(step)) return null;
    const folder = path.join(this.runDir(runId), 'samples');
    return containedFileSync(folder, path.join(folder, `${step}.png`)); // by real path: a link out is not served
  }
}
