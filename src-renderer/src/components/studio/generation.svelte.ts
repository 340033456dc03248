// The generation in progress as the studio shows it: starting a job from the document, its steps and live
// previews (generate.progress), cancelling it, and its pictures arriving as new image layers (one undo step
// each) when generate.finished names their history entries. Lifecycle: one per Studio, listening for as long
// as the app runs, so a job finishing while another view shows still lands in the document.
import type { HistoryEntry } from '../../../../src-main/common/generation-contract.ts';
import type { JobInfo } from '../../../../src-main/common/contract.ts';
import { errorText } from '../../transport/client.ts';
import type { DocumentStore } from '../../document/store.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import type { AppContext } from '../../state/context.ts';
import { buildGenerateInput, snap8 } from './generate-request.ts';
import { loadImage, pixelsAt, pngDataUrl } from './image-io.ts';
import { DEFAULT_HIRES, hiresInput, type HiresChoice } from './hires-choice.ts';

export class Generation {
  jobId = $state<string | null>(null);
  step = $state(0);
  total = $state(0);
  /** The latest preview of the current estimate, as a data URL. */
  preview = $state<string | null>(null);
  starting = $state(false);
  lastSeed = $state<number | null>(null);
  /** Generation size; follows the canvas unless the artist typed one. */
  width = $state(512);
  height = $state(512);
  sizeFromCanvas = $state(true);
  /** Inpainting strength. */
  denoise = $state(0.75);
  /** The VAE for this session's generations: 'auto' (the checkpoint's default), null (its own) or a library id. */
  vae = $state<'auto' | number | null>('auto');
  /** Hires fix (text-to-image only: left out while the inpaint mask holds anything). */
  hires = $state<HiresChoice>({ ...DEFAULT_HIRES });
  /** Enabled hints left out of the last request, and why. */
  skipped = $state<string[]>([]);
  /** History entries the last job made (the gallery highlights them). */
  lastResults = $state<number[]>([]);

  readonly running = $derived(this.jobId !== null);

  constructor(
    private readonly app: AppContext,
    private readonly store: DocumentStore,
    private readonly pixels: (rasterId: string) => RgbaImage | null,
    private readonly composite: () => RgbaImage,
  ) {}

  start(): () => void {
    const { client } = this.app.session;
    const offs = [
      client.on('generate.progress', (e) => {
        if (e.jobId !== this.jobId) return;
        this.step = e.step;
        this.total = e.total;
        if (e.previewPngBase64) this.preview = pngDataUrl(e.previewPngBase64);
      }),
      client.on('generate.finished', (e) => {
        if (e.jobId === this.jobId && e.messages?.length) this.app.session.notify('info', e.messages.join(' '));
        void this.finished(e.jobId, e.historyIds);
      }),
      this.app.session.onJob((job) => this.jobChanged(job)),
    ];
    return () => offs.forEach((off) => off());
  }

  /** The size to generate at: the canvas's, snapped to multiples of 8, unless set by hand. */
  syncSize(width: number, height: number): void {
    if (!this.sizeFromCanvas) return;
    this.width = snap8(width);
    this.height = snap8(height);
  }

  async generate(): Promise<void> {
    const doc = this.store.state.doc;
    if (!doc || this.running || this.starting) return;
    const { session, library } = this.app;
    this.starting = true;
    try {
      const checkpointId = doc.settings.checkpointId ?? library.checkpoint?.id ?? null;
      const built = await buildGenerateInput({
        doc,
        pixels: this.pixels,
        composite: this.composite,
        library: library.items,
        checkpointId,
        width: this.width,
        height: this.height,
        denoise: this.denoise,
        vae: this.vae,
        hires: hiresInput(this.hires),
      });
      this.skipped = built.skipped;
      const { jobId, seed } = await session.client.call('generate.start', built.input);
      this.jobId = jobId;
      this.lastSeed = seed;
      this.step = 0;
      this.total = doc.settings.steps + (built.input.hires ? built.input.hires.steps || doc.settings.steps : 0);
      this.preview = null;
      if (built.skipped.length > 0) session.notify('info', `Left out: ${built.skipped.join('; ')}`);
    } catch (err) {
      session.notify('error', `Could not start the generation: ${errorText(err)}`, stickyFor((err as { kind?: string })?.kind));
    } finally {
      this.starting = false;
    }
  }

  async cancel(): Promise<void> {
    if (this.jobId) await this.app.session.cancelJob(this.jobId);
  }

  private jobChanged(job: JobInfo): void {
    if (job.id !== this.jobId) return;
    if (job.state === 'failed' || job.state === 'cancelled') {
      if (job.state === 'failed') this.app.session.notify('error', `Generation failed: ${job.error?.message ?? 'unknown error'}`, stickyFor(job.error?.kind));
      this.reset();
    }
  }

  private reset(): void {
    this.jobId = null;
    this.preview = null;
    this.step = 0;
  }

  /** Each picture of the job becomes an image layer above the top image layer (under the hints). */
  private async finished(jobId: string, historyIds: number[]): Promise<void> {
    if (jobId !== this.jobId) return;
    const { client } = this.app.session;
    try {
      for (const id of historyIds) {
        const entry = await client.call('history.get', { id });
        await this.placeResult(entry);
      }
      this.lastResults = historyIds;
    } catch (err) {
      this.app.session.notify('error', `Could not place the result: ${errorText(err)}`);
    } finally {
      this.reset();
    }
  }

  async placeResult(entry: HistoryEntry): Promise<void> {
    const doc = this.store.state.doc;
    if (!doc) return;
    const img = await loadImage(entry.imageUrl);
    const pixels = pixelsAt(img, doc.width, doc.height);
    const topImage = doc.layers.reduce((at, l, i) => (l.type === 'image' ? i : at), -1);
    this.store.transact('Add generated image', () => {
      const layer = this.store.addImageLayer({ name: `Result #${entry.id} · seed ${entry.settings.seed}`, historyId: entry.id }, topImage + 1);
      this.store.replaceRaster(layer.rasterId, pixels, 'Add generated image');
    });
  }
}

/** A full or failing disk stays on screen until dismissed (0); other failures fade as usual (undefined). */
function stickyFor(kind: string | undefined): number | undefined {
  return kind === 'disk-full' || kind === 'disk-error' ? 0 : undefined;
}
