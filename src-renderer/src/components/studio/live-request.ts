// Where a live request is built: in a worker (live-request.worker.ts) so the pixel work stays out of the
// frames of the stroke being painted, or, where no worker can start, on the main thread as Generate does.
// The main thread only reads the pixels a request may need (every layer but the image layers, a canny hint's
// source and, with a mask, the composite) and hands them over. Lifecycle: one per LiveMode.
import { activeMask, enabledHints } from '../../../../src-main/common/document/layers.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import { buildGenerateInput, type BuiltRequest, type RequestSources } from './generate-request.ts';
import type { LiveRequestJob } from './live-request.worker.ts';

export class LiveRequestBuilder {
  private worker: Worker | null = null;
  private failed = false;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(b: BuiltRequest): void; reject(e: Error): void }>();

  /** `sources.doc` and `sources.library` must be plain (snapshotted) values: they are cloned to the worker. */
  async build(sources: RequestSources): Promise<BuiltRequest> {
    const worker = this.failed ? null : this.start();
    if (!worker) return buildGenerateInput(sources);
    const { doc } = sources;
    // every layer a request may read pixels of: all but the image layers (hints, masks and any later kind that
    // paints what steers the picture), and the image layers a canny hint finds its edges in
    const ids = new Set<string>();
    for (const layer of doc.layers) if (layer.type !== 'image' && 'rasterId' in layer) ids.add(layer.rasterId);
    for (const layer of enabledHints(doc)) {
      const source = layer.canny?.sourceLayerId ? doc.layers.find((l) => l.id === layer.canny!.sourceLayerId) : undefined;
      if (source) ids.add(source.rasterId);
    }
    const mask = activeMask(doc);
    const rasters: [string, RgbaImage][] = [];
    for (const id of ids) {
      const image = sources.pixels(id);
      if (image) rasters.push([id, image]);
    }
    const composite = mask ? sources.composite() : null;
    const job: LiveRequestJob = {
      seq: ++this.seq,
      doc,
      rasters,
      composite,
      library: [...sources.library],
      checkpointId: sources.checkpointId,
      width: sources.width,
      height: sources.height,
      denoise: sources.denoise,
    };
    const transfer = [...rasters.map(([, r]) => r.data.buffer), ...(composite ? [composite.data.buffer] : [])] as ArrayBuffer[];
    try {
      return await new Promise<BuiltRequest>((resolve, reject) => {
        this.waiting.set(job.seq, { resolve, reject });
        worker.postMessage(job, transfer);
      });
    } catch (err) {
      // the worker itself failed (not the request): this request, and every later one, is built here
      if ((err as { kind?: string }).kind === 'worker-failed') return buildGenerateInput(sources);
      throw err;
    }
  }

  dispose(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private start(): Worker | null {
    if (this.worker) return this.worker;
    try {
      const worker = new Worker(new URL('./live-request.worker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (e: MessageEvent<{ seq: number; built?: BuiltRequest; error?: { message: string; kind?: string } }>) => {
        const waiter = this.waiting.get(e.data.seq);
        this.waiting.delete(e.data.seq);
        if (!waiter) return;
        if (e.data.built) waiter.resolve(e.data.built);
        else waiter.reject(Object.assign(new Error(e.data.error?.message ?? 'the live request could not be built'), { kind: e.data.error?.kind }));
      };
      // A worker that cannot load (a host refusing module workers): every request from now on is built here.
      worker.onerror = (e) => {
        e.preventDefault();
        this.fail(new Error(`the live request worker stopped: ${e.message || 'it could not be loaded'}`));
      };
      this.worker = worker;
      return worker;
    } catch {
      this.failed = true;
      return null;
    }
  }

  private fail(err: Error): void {
    this.failed = true;
    this.worker?.terminate();
    this.worker = null;
    for (const w of this.waiting.values()) w.reject(Object.assign(err, { kind: 'worker-failed' }));
    this.waiting.clear();
  }
}
