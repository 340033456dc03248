// Live mode in the studio: while it is on, every edit of the document (a stroke's end, a layer change, a
// slider) and every change of the live settings asks for a quick picture after a short pause, made with the
// live settings (by default LCM, 4 steps, a fixed seed, the canvas size) over the document's own prompt, hints
// and LoRA stack. The newest picture shows in the live layer on the canvas (above the top image layer, under
// the hints; not a document layer, not in the history) until "Keep" records it as a normal generation.
// When to ask and when to cancel is live-scheduler.ts; this class carries out its commands. Nothing here
// blocks painting: requests are built in a worker (live-request.ts) and the picture is decoded off the main thread.
// Lifecycle: one per Studio, listening for as long as the app runs.
import type { SamplerName } from '../../../../src-main/common/generation-contract.ts';
import type { DocumentStore } from '../../document/store.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import type { AppContext } from '../../state/context.ts';
import { errorText } from '../../transport/client.ts';
import type { Generation } from './generation.svelte.ts';
import { snap8 } from './generate-request.ts';
import { LiveRequestBuilder } from './live-request.ts';
import { fromBase64 } from './image-io.ts';
import { LIVE_OFF, liveStep, type LiveCommand, type LiveEvent, type LiveSchedule } from './live-scheduler.ts';

export interface LiveSettings {
  sampler: SamplerName;
  steps: number;
  cfg: number;
  /** Fixed, so a picture changes only where the document changed. */
  seed: number;
  /** Half the canvas size: about 4x less work per step. */
  half: boolean;
  /** The pause after an edit before a picture is asked for. */
  delayMs: number;
}

export const LIVE_DEFAULTS: Omit<LiveSettings, 'seed'> = { sampler: 'lcm', steps: 4, cfg: 1.5, half: false, delayMs: 300 };

export interface LivePictureView {
  jobId: string;
  docId: string;
  image: ImageBitmap;
  seed: number;
  width: number;
  height: number;
  /** History ids once kept. */
  kept: number[] | null;
}

export type LiveStatus = 'off' | 'waiting' | 'generating' | 'ready' | 'failed';

export interface LiveSources {
  pixels(rasterId: string): RgbaImage | null;
  composite(): RgbaImage;
  /** A stroke is in progress (the pointer is down). */
  busy(): boolean;
}

export class LiveMode {
  on = $state(false);
  settings = $state<LiveSettings>({ ...LIVE_DEFAULTS, seed: Math.floor(Math.random() * 2 ** 32) });
  status = $state<LiveStatus>('off');
  step = $state(0);
  total = $state(0);
  /** Why the last picture could not be made (shown by the live controls). */
  error = $state('');
  picture = $state.raw<LivePictureView | null>(null);
  /** The live layer's visibility and opacity on the canvas. */
  visible = $state(true);
  opacity = $state(1);
  keeping = $state(false);

  private readonly requests = new LiveRequestBuilder();
  private schedule: LiveSchedule = LIVE_OFF;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The request of the picture shown: an edit that changes nothing the picture depends on asks for nothing. */
  private shownKey = '';

  constructor(
    private readonly app: AppContext,
    private readonly store: DocumentStore,
    private readonly generation: Generation,
    private readonly sources: LiveSources,
  ) {}

  start(): () => void {
    const { client } = this.app.session;
    const offs = [
      this.store.onEdit(() => this.send({ type: 'edit' })),
      client.on('generate.progress', (e) => {
        if (e.jobId !== this.schedule.job?.id) return;
        this.step = e.step;
        this.total = e.total;
      }),
    ];
    return () => offs.forEach((off) => off());
  }

  toggle(): void {
    this.send({ type: this.on ? 'disable' : 'enable' });
  }

  /** A live setting changed: a new picture after the pause. */
  change(patch: Partial<LiveSettings>): void {
    this.settings = { ...this.settings, ...patch };
    this.send({ type: 'edit' });
  }

  /** Records the live picture in the history and adds it as an image layer, as Generate does with its results. */
  async keep(): Promise<void> {
    const shown = this.picture;
    if (!shown || shown.kept || this.keeping) return;
    const { client } = this.app.session;
    this.keeping = true;
    try {
      const { historyIds } = await client.call('live.keep', { jobId: shown.jobId });
      for (const id of historyIds) await this.generation.placeResult(await client.call('history.get', { id }));
      if (this.picture === shown) this.picture = { ...shown, kept: historyIds };
    } catch (err) {
      this.app.session.notify('error', `Could not keep the live picture: ${errorText(err)}`);
    } finally {
      this.keeping = false;
    }
  }

  // ---- the schedule's commands ------------------------------------------------------------------------

  private send(event: LiveEvent): void {
    const { state, commands } = liveStep(this.schedule, event, this.settings.delayMs);
    this.schedule = state;
    this.on = state.on;
    for (const c of commands) this.run(c);
    this.status = !state.on ? 'off' : state.job && !state.job.cancelled ? 'generating' : state.dirty ? 'waiting' : this.error ? 'failed' : 'ready';
  }

  private run(c: LiveCommand): void {
    switch (c.type) {
      case 'arm-timer':
        this.timer = setTimeout(() => {
          this.timer = null;
          this.send({ type: 'timer', busy: this.sources.busy() });
        }, c.ms);
        return;
      case 'clear-timer':
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        return;
      case 'cancel-job':
        // the queue answers false for a job that already ended; nothing to tell the artist either way
        this.app.session.client.call('jobs.cancel', { id: c.jobId }).catch(() => {});
        return;
      case 'start-job':
        void this.startJob();
        return;
    }
  }

  private async startJob(): Promise<void> {
    const doc = this.store.state.doc;
    const { session, library } = this.app;
    let jobId: string;
    let key: string;
    try {
      if (!doc) throw new Error('No document is open.');
      const s = this.settings;
      const scale = s.half ? 0.5 : 1;
      const built = await this.requests.build({
        doc: $state.snapshot(doc) as typeof doc,
        pixels: this.sources.pixels,
        composite: this.sources.composite,
        library: $state.snapshot(library.items) as typeof library.items,
        checkpointId: doc.settings.checkpointId ?? library.checkpoint?.id ?? null,
        width: snap8(doc.width * scale),
        height: snap8(doc.height * scale),
        denoise: this.generation.denoise,
      });
      const input = { ...built.input, sampler: s.sampler, steps: s.steps, cfg: s.cfg, seed: s.seed, batchSize: 1, batchCount: 1 };
      key = `${doc.id}|${JSON.stringify(input)}`;
      if (key === this.shownKey && this.picture) {
        this.send({ type: 'not-started' });
        return;
      }
      this.step = 0;
      this.total = s.steps;
      ({ jobId } = await session.client.call('live.start', input));
    } catch (err) {
      this.error = errorText(err);
      this.send({ type: 'not-started' });
      return;
    }
    this.send({ type: 'started', jobId });
    await this.await(jobId, key, doc.id);
    this.send({ type: 'ended', jobId });
  }

  /** Waits for the job's picture and shows it; a cancelled job shows nothing. */
  private async await(jobId: string, key: string, docId: string): Promise<void> {
    try {
      const result = await this.app.session.client.call('live.result', { jobId });
      // decoded off the main thread (an <img> would decode at its first draw, in the middle of a frame)
      const image = await createImageBitmap(new Blob([fromBase64(result.pngBase64) as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
      this.picture = { jobId, docId, image, seed: result.seed, width: result.width, height: result.height, kept: null };
      this.shownKey = key;
      this.error = '';
    } catch (err) {
      if ((err as { kind?: string })?.kind !== 'cancelled') this.error = errorText(err);
    }
  }
}
