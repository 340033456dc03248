// Autosave of the open document: every edit the DocumentStore reports marks the record and/or rasters dirty,
// and a save follows ~500 ms after the last change (at most 2 s after the first, so a long stroke session
// still saves). A save sends the record as JSON and, as PNG, only the rasters that changed (or that main does
// not have yet), with a revision one above the last; main keeps the highest revision. `flush` saves at once
// and resolves when everything edited so far is stored (window close, switching documents).
// A stale answer (another window saved a newer revision) stops autosave in 'conflict' until the user picks:
// `overwrite()` saves this window's document over it, or the caller reopens the document.
// Pure module: the transport, the PNG encoder and the timers are injected (tests run it under node).
import type { DocumentSaveInput, DocumentSaveResult } from '../../../src-main/common/documents-contract.ts';
import { MAX_SAVE_PNG_CHARS } from '../../../src-main/common/documents-contract.ts';
import { cloneRecord } from './changes.ts';
import { referencedRasters } from '../../../src-main/common/document/layers.ts';
import { readImage, type RasterSurface, type RgbaImage } from './raster-store.ts';
import type { DocumentStore, EditInfo } from './store.ts';

export type SaveStatus = 'saved' | 'pending' | 'saving' | 'error' | 'conflict';

export interface AutosaveOptions {
  store: DocumentStore<RasterSurface>;
  save: (input: DocumentSaveInput) => Promise<DocumentSaveResult>;
  /** A PNG of the pixels, as base64. */
  encodePng: (image: RgbaImage) => Promise<string>;
  /** Told of every status change (and the error text when failing). */
  onStatus?: (status: SaveStatus, message: string) => void;
  delayMs?: number;
  maxDelayMs?: number;
  retryMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class DocumentAutosave {
  status: SaveStatus = 'saved';
  message = '';
  /** Revision of the last accepted save (or of the document as opened). */
  revision = 0;
  private docId: string | null = null;
  private recordDirty = false;
  private readonly dirtyRasters = new Set<string>();
  /** Rasters main holds as they are here. */
  private readonly stored = new Set<string>();
  private timer: unknown = null;
  private firstDirtyAt = 0;
  private running: Promise<void> | null = null;
  private readonly off: () => void;
  private readonly o: Required<Omit<AutosaveOptions, 'onStatus'>> & Pick<AutosaveOptions, 'onStatus'>;

  constructor(options: AutosaveOptions) {
    this.o = {
      delayMs: 500,
      maxDelayMs: 2000,
      retryMs: 3000,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      ...options,
    };
    this.off = options.store.onEdit((edit) => this.edited(edit));
  }

  /** Starts tracking the document just loaded into the store: `revision` as opened, `storedRasters` main has. */
  track(docId: string, revision: number, storedRasters: Iterable<string>): void {
    this.cancelTimer();
    this.docId = docId;
    this.revision = revision;
    this.recordDirty = false;
    this.dirtyRasters.clear();
    this.stored.clear();
    for (const id of storedRasters) this.stored.add(id);
    this.setStatus('saved', '');
  }

  /** True while something edited is not stored yet. */
  get dirty(): boolean {
    return this.recordDirty || this.dirtyRasters.size > 0 || this.status === 'saving';
  }

  /** Saves everything now; resolves when it is stored (or the save failed: see `status`). */
  async flush(): Promise<void> {
    this.cancelTimer();
    while (this.running) await this.running;
    if (this.status === 'conflict' || !this.docId) return;
    if (this.recordDirty || this.dirtyRasters.size > 0 || this.missingRasters().length > 0) await this.run();
  }

  /** After a conflict: this window's document wins, saved whole above the other revision. */
  async overwrite(): Promise<void> {
    this.stored.clear();
    this.recordDirty = true;
    this.setStatus('pending', '');
    await this.flush();
  }

  dispose(): void {
    this.cancelTimer();
    this.off();
  }

  private edited(edit: EditInfo): void {
    if (!this.docId) return;
    if (edit.record) this.recordDirty = true;
    for (const id of edit.rasters) this.dirtyRasters.add(id);
    if (this.status === 'conflict') return;
    if (this.status !== 'saving') this.setStatus('pending', '');
    this.schedule(this.o.delayMs);
  }

  private schedule(ms: number): void {
    const now = Date.now();
    if (this.timer === null) this.firstDirtyAt = now;
    else this.cancelTimer();
    const wait = Math.max(0, Math.min(ms, this.firstDirtyAt + this.o.maxDelayMs - now));
    this.timer = this.o.setTimer(() => {
      this.timer = null;
      void this.flush();
    }, wait);
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
  }

  /** Rasters a layer names that main does not have (a new layer, an undone removal). */
  private missingRasters(): string[] {
    const store = this.o.store;
    if (!store.state.doc) return [];
    return referencedRasters(store.doc).filter((id) => !this.stored.has(id) && store.rasters.has(id));
  }

  private run(): Promise<void> {
    this.running = this.saveOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async saveOnce(): Promise<void> {
    const store = this.o.store;
    const docId = this.docId;
    if (!docId || !store.state.doc || store.doc.id !== docId) return;
    // Snapshot the record and the pixels together, synchronously: later edits go to the next save.
    const record = { ...cloneRecord(store.doc), updatedAt: new Date().toISOString() };
    const wanted = new Set(referencedRasters(record));
    const send = [...new Set([...this.dirtyRasters, ...this.missingRasters()])].filter((id) => wanted.has(id) && store.rasters.has(id));
    const images = send.map((id) => ({ id, image: readImage(store.rasters.get(id)) }));
    this.recordDirty = false;
    this.dirtyRasters.clear();
    this.setStatus('saving', '');
    try {
      const rasters = [];
      for (const { id, image } of images) rasters.push({ id, pngBase64: await this.o.encodePng(image) });
      for (const batch of batches(rasters)) {
        const result = await this.o.save({ id: docId, revision: this.revision + 1, record, rasters: batch });
        if (!result.accepted) {
          this.revision = result.revision;
          this.recordDirty = true;
          for (const r of rasters) this.dirtyRasters.add(r.id);
          this.setStatus('conflict', 'This document was saved from another window since it was opened here.');
          return;
        }
        this.revision = result.revision;
        for (const r of batch) this.stored.add(r.id);
      }
      // Main dropped the rasters no layer names; an undo that brings a layer back sends its raster again.
      for (const id of [...this.stored]) if (!wanted.has(id)) this.stored.delete(id);
      if (this.docId !== docId) return;
      if (this.recordDirty || this.dirtyRasters.size > 0) {
        this.setStatus('pending', '');
        this.schedule(this.o.delayMs);
      } else {
        this.setStatus('saved', '');
      }
    } catch (error) {
      // Keep everything dirty and try again later; nothing is lost while the page lives.
      this.recordDirty = true;
      for (const id of send) this.dirtyRasters.add(id);
      this.setStatus('error', `Autosave failed: ${(error as Error)?.message ?? String(error)}`);
      this.schedule(this.o.retryMs);
    }
  }

  private setStatus(status: SaveStatus, message: string): void {
    this.status = status;
    this.message = message;
    this.o.onStatus?.(status, message);
  }
}

/** Splits rasters into saves of at most MAX_SAVE_PNG_CHARS of PNG text (one raster per save when large). */
export function batches<T extends { pngBase64: string }>(rasters: T[]): T[][] {
  const out: T[][] = [[]];
  let chars = 0;
  for (const r of rasters) {
    if (out[out.length - 1].length > 0 && chars + r.pngBase64.length > MAX_SAVE_PNG_CHARS) {
      out.push([]);
      chars = 0;
    }
    out[out.length - 1].push(r);
    chars += r.pngBase64.length;
  }
  return out;
}
