// Main's side of live mode: a live picture is the engine's 'generate' task run as a job titled "Live picture",
// with the models resolved by the GenerationService exactly as for Generate, but its result stays in memory
// instead of going to disk and the history. The studio fetches it with 'live.result' (which waits for the job,
// as 'annotate.result' does) and shows it in its live layer; 'live.keep' hands it to the GenerationService's
// `record`, so a kept picture is written and listed exactly like a generated one.
//
// Cancelling is the queue's: the studio cancels a live job with 'jobs.cancel' when a newer edit makes it stale;
// the engine's sampler checks the job's signal before every denoising step, so it stops within one step.
// Lifecycle: one per Services, holding at most KEPT_RESULTS pictures.

import os from 'node:os';
import type { MethodInput, MethodOutput } from '../common/contract.ts';
import type { GenerateInput } from '../common/generation-contract.ts';
import type { GenerateTaskResult } from '../engine/tasks/generate-payload.ts';
import type { EngineSupervisor } from '../jobs/engine-supervisor.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { kindError } from '../common/errors.ts';
import type { EventBus } from '../base/event-bus.ts';
import type { GenerationService } from './generation-service.ts';

export type LiveMethod = 'live.start' | 'live.result' | 'live.keep';
export type LiveHandlers = { [M in LiveMethod]: (input: MethodInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

export interface LiveServiceOptions {
  queue: JobQueue;
  supervisor: EngineSupervisor;
  generation: Pick<GenerationService, 'settingsFor' | 'payloadFor' | 'record'>;
  events: EventBus;
}

/** Live pictures kept for 'live.result' and 'live.keep': the studio only ever wants the newest one or two. */
export const KEPT_RESULTS = 4;

export const LIVE_JOB_TITLE = 'Live picture';

interface LiveJob {
  result: GenerateTaskResult | null;
  historyIds: number[] | null;
}

export class LiveService {
  /** This run's live jobs, oldest first; finished ones beyond KEPT_RESULTS lose their picture. */
  private readonly jobs = new Map<string, LiveJob>();
  /** The engine process whose priority was lowered (a restarted engine starts at normal priority again). */
  private loweredPid: number | null = null;

  constructor(private readonly o: LiveServiceOptions) {}

  handlers(): LiveHandlers {
    return {
      'live.start': (input) => this.start(input),
      'live.result': ({ jobId }) => this.result(jobId),
      'live.keep': ({ jobId }) => this.keep(jobId),
    };
  }

  async start(input: GenerateInput): Promise<{ jobId: string; seed: number }> {
    this.yieldToTheUi();
    const settings = await this.o.generation.settingsFor({ ...input, batchSize: 1, batchCount: 1 });
    const payload = this.o.generation.payloadFor(settings, input);
    const live: LiveJob = { result: null, historyIds: null };
    const job = this.o.queue.enqueue({
      kind: 'generate',
      title: LIVE_JOB_TITLE,
      lane: 'engine',
      run: async (ctx) => {
        const result = (await this.o.supervisor.run(ctx.jobId, 'generate', payload, {
          signal: ctx.signal,
          onProgress: (p) => {
            ctx.progress(p);
            // the steps without previews: the live picture itself follows within a step or two
            this.o.events.emit('generate.progress', { jobId: ctx.jobId, step: p.step, total: p.total });
          },
        })) as GenerateTaskResult;
        if (result.fallbacks?.length) this.o.supervisor.noteFallbacks(result.fallbacks);
        live.result = result;
        return { seeds: result.pictures.map((p) => p.seed) };
      },
    });
    this.jobs.set(job.id, live);
    this.trim();
    return { jobId: job.id, seed: settings.seed };
  }

  async result(jobId: string): Promise<MethodOutput<'live.result'>> {
    if (!this.jobs.has(jobId)) throw kindError('not-found', `There is no live job ${jobId}.`);
    const { job } = await this.o.queue.wait(jobId);
    if (job.state === 'cancelled') throw kindError('cancelled', 'The live picture was cancelled (a newer edit replaced it).');
    if (job.state !== 'done') throw kindError(job.error?.kind ?? 'engine-error', job.error?.message ?? 'The live picture failed.');
    const picture = this.jobs.get(jobId)?.result?.pictures[0];
    if (!picture) throw kindError('not-found', 'This live picture is no longer kept (newer ones replaced it).');
    return {
      jobId,
      width: picture.settings.width,
      height: picture.settings.height,
      seed: picture.seed,
      pngBase64: Buffer.from(picture.png).toString('base64'),
      settings: picture.settings,
    };
  }

  /** Writes the live picture and records it in the history, once: keeping it again answers the same ids. */
  async keep(jobId: string): Promise<{ historyIds: number[] }> {
    const live = this.jobs.get(jobId);
    if (!live) throw kindError('not-found', `There is no live job ${jobId}.`);
    if (live.historyIds) return { historyIds: live.historyIds };
    if (!live.result) {
      const { job } = await this.o.queue.wait(jobId);
      if (job.state !== 'done') throw kindError('not-found', `The live picture of job ${jobId} was not finished (${job.state}); there is nothing to keep.`);
    }
    if (!live.result) throw kindError('not-found', 'This live picture is no longer kept (newer ones replaced it).');
    live.historyIds = this.o.generation.record(jobId, live.result);
    // as for a finished generation: the gallery reloads and shows the kept picture
    this.o.events.emit('generate.finished', { jobId, historyIds: live.historyIds });
    return { historyIds: live.historyIds };
  }

  /**
   * Live pictures are made while the artist paints: on a machine whose CPU does the work (the CPU provider, or
   * the graph's CPU parts) the engine would take the cores from the window being painted in and drop its frames.
   * So once live mode is used, the engine process runs below normal priority: it still gets every idle cycle,
   * but the UI comes first. An unprivileged process cannot raise it back, so it stays so until the engine
   * restarts (a lower priority only costs time when something else wants the CPU). Refused (no permission, no
   * such process): the engine runs as it was.
   */
  private yieldToTheUi(): void {
    const pid = this.o.supervisor.status().pid;
    if (pid === null || pid === this.loweredPid) return;
    this.loweredPid = pid;
    try {
      if (os.getPriority(pid) < os.constants.priority.PRIORITY_BELOW_NORMAL) os.setPriority(pid, os.constants.priority.PRIORITY_BELOW_NORMAL);
    } catch {
      // another user's process or a platform without priorities: nothing to do
    }
  }

  /**
   * Keeps memory bounded over a long session: only the newest KEPT_RESULTS live jobs are remembered, and always
   * the newest finished picture (the one the studio shows and may keep), however many jobs were cancelled since.
   */
  private trim(): void {
    const ids = [...this.jobs.keys()];
    const shown = ids.findLast((id) => this.jobs.get(id)!.result !== null);
    for (const id of ids) {
      if (this.jobs.size <= KEPT_RESULTS) break;
      if (id !== shown) this.jobs.delete(id);
    }
  }
}
