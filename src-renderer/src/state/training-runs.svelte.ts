// Training runs as the renderer holds them: the list from `training.runs`, kept current by the
// `training.progress` events (step, loss, ETA, the sample picture at sample steps) and `training.finished`
// (the run's record is read again: its result, its error). Pause, resume and cancel go through here.
// Runs are replaced, never mutated: a loss curve of thousands of steps stays a plain array, not a proxy.
import { trainingSampleUrl, type TrainingProgressEvent, type TrainingRunInfo } from '../../../src-main/common/training-contract.ts';
import { errorText } from '../transport/client.ts';
import type { Session } from './session.svelte.ts';

/** Sample pictures kept as data URLs from the events; older ones are read from their stored file instead. */
const LIVE_SAMPLES = 4;

export class TrainingRuns {
  runs = $state.raw<TrainingRunInfo[]>([]);
  loaded = $state(false);
  loadError = $state('');
  /** Runs with a pause, resume or cancel on its way (their buttons wait). */
  busy = $state.raw<ReadonlySet<number>>(new Set());

  private readonly session: Session;
  private refreshing = new Map<number, { again: boolean; done: Promise<void> }>();

  constructor(session: Session) {
    this.session = session;
  }

  start(): () => void {
    const { client } = this.session;
    const offs = [
      this.session.onOpen(() => void this.reload()),
      client.on('training.progress', (e) => this.progress(e)),
      client.on('training.finished', (e) => void this.refresh(e.runId)),
    ];
    return () => offs.forEach((off) => off());
  }

  find(id: number | null): TrainingRunInfo | null {
    return id === null ? null : (this.runs.find((r) => r.id === id) ?? null);
  }

  async reload(): Promise<void> {
    try {
      const runs = await this.session.client.call('training.runs', {});
      // A progress event may have moved a run past what the list says while it was on its way.
      this.runs = runs.map((r) => {
        const mine = this.find(r.id);
        return mine && mine.state === 'running' && r.state === 'running' && mine.step > r.step ? mine : r;
      });
      this.loadError = '';
    } catch (err) {
      this.loadError = errorText(err);
    }
    this.loaded = true;
  }

  /**
   * Reads one run again (after its job ended, after a gap in its events); coalesced per run. A request that
   * comes while a read is on its way reads once more after it: that read may have left before the run changed
   * (a pause's own read, then the run's `training.finished`).
   */
  refresh(runId: number): Promise<void> {
    const entry = this.refreshing.get(runId);
    if (entry) {
      entry.again = true;
      return entry.done;
    }
    const mine = { again: false, done: Promise.resolve() };
    mine.done = (async () => {
      try {
        do {
          mine.again = false;
          this.put(await this.session.client.call('training.status', { runId }));
        } while (mine.again);
      } catch (err) {
        this.loadError = errorText(err);
      } finally {
        this.refreshing.delete(runId);
      }
    })();
    this.refreshing.set(runId, mine);
    return mine.done;
  }

  /** Adds or replaces a run, newest first. */
  put(run: TrainingRunInfo): void {
    const others = this.runs.filter((r) => r.id !== run.id);
    this.runs = [run, ...others].sort((a, b) => b.id - a.id);
  }

  private progress(e: TrainingProgressEvent): void {
    const run = this.find(e.runId);
    // Unknown run, or events missed while the link was down: the record has the whole curve.
    if (!run || e.step - 1 > run.losses.length) return void this.refresh(e.runId);
    // A resumed run starts again after its checkpoint: steps past it were thrown away.
    const losses = run.losses.slice(0, e.step - 1);
    losses.push(e.loss);
    let samples = run.samples.filter((s) => s.step < e.step);
    if (e.samplePngBase64) {
      samples = [...samples, { step: e.step, imageUrl: `data:image/png;base64,${e.samplePngBase64}` }];
      const mode = this.session.client.mode;
      samples = samples.map((s, i) =>
        i < samples.length - LIVE_SAMPLES && s.imageUrl.startsWith('data:') ? { ...s, imageUrl: trainingSampleUrl(run.id, s.step, mode) } : s,
      );
    }
    this.put({
      ...run,
      jobId: e.jobId,
      state: 'running',
      step: e.step,
      total: e.total,
      losses,
      etaSeconds: e.etaSeconds,
      samples,
      // Checkpoints are written every checkpointEvery steps (the record says so once read again).
      checkpointStep: e.step % run.settings.checkpointEvery === 0 ? e.step : Math.min(run.checkpointStep, e.step),
    });
  }

  pause(runId: number): Promise<void> {
    return this.act(runId, 'pause', async () => {
      const { ok } = await this.session.client.call('training.pause', { runId });
      if (!ok) this.session.notify('info', 'That run was not training.');
    });
  }

  resume(runId: number): Promise<void> {
    return this.act(runId, 'resume', async () => {
      await this.session.client.call('training.resume', { runId });
    });
  }

  cancel(runId: number): Promise<void> {
    return this.act(runId, 'cancel', async () => {
      const { ok } = await this.session.client.call('training.cancel', { runId });
      if (!ok) this.session.notify('info', 'That run had already ended.');
    });
  }

  private async act(runId: number, what: string, call: () => Promise<void>): Promise<void> {
    if (this.busy.has(runId)) return;
    this.busy = new Set([...this.busy, runId]);
    try {
      await call();
    } catch (err) {
      this.session.notify('error', `Could not ${what} the run: ${errorText(err)}`);
    } finally {
      this.busy = new Set([...this.busy].filter((id) => id !== runId));
      await this.refresh(runId);
    }
  }
}

