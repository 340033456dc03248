// The diffs the undo history records. Every edit of the document is one or more Changes; each Change carries
// both sides (before and after) so it can be applied either way. Layer records are small, so a property edit
// keeps the whole layer record on each side; pixel edits keep only the dirty rectangle's pixels.
// Pure module: applies Changes to a plain (or $state-proxied) DocumentRecord and a RasterStore.
import type { DocumentRecord, GenerationSettings, Layer } from '../../../src-main/common/document/model.ts';
import { blit, type RasterStore, type Rect, unionRect } from './raster-store.ts';

/** Document-level fields that edits change (the layer list has Changes of its own). */
export interface DocumentFields {
  name: string;
  settings: GenerationSettings;
}

export interface Selection {
  before: string | null;
  after: string | null;
}

export type Change =
  /** A layer inserted at `index`, and the active layer before and after (the selection follows undo). */
  | { type: 'layer-insert'; index: number; layer: Layer; active: Selection }
  | { type: 'layer-remove'; index: number; layer: Layer; active: Selection }
  /** Any property of one layer, including hint binding, pose people and canny settings. */
  | { type: 'layer-update'; id: string; before: Layer; after: Layer }
  | { type: 'layer-move'; from: number; to: number }
  | { type: 'document-update'; before: DocumentFields; after: DocumentFields }
  /** Pixels of `rect` in raster `rasterId`, before and after the edit ([h, w, 4] each). */
  | { type: 'raster'; rasterId: string; rect: Rect; before: Uint8ClampedArray; after: Uint8ClampedArray };

/** Deep copy of a plain record (records are JSON by design: they are saved as JSON). Reads through proxies. */
export function cloneRecord<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

export function invert(change: Change): Change {
  switch (change.type) {
    case 'layer-insert':
      return { type: 'layer-remove', index: change.index, layer: change.layer, active: swap(change.active) };
    case 'layer-remove':
      return { type: 'layer-insert', index: change.index, layer: change.layer, active: swap(change.active) };
    case 'layer-update':
      return { type: 'layer-update', id: change.id, before: change.after, after: change.before };
    case 'layer-move':
      return { type: 'layer-move', from: change.to, to: change.from };
    case 'document-update':
      return { type: 'document-update', before: change.after, after: change.before };
    case 'raster':
      return { ...change, before: change.after, after: change.before };
  }
}

const swap = (s: Selection): Selection => ({ before: s.after, after: s.before });

/** Where a change leaves the document; throws when the document is not in the state the change expects. */
export function apply(doc: DocumentRecord, rasters: RasterStore, change: Change): void {
  switch (change.type) {
    case 'layer-insert':
      doc.layers.splice(change.index, 0, cloneRecord(change.layer));
      doc.activeLayerId = change.active.after;
      return;
    case 'layer-remove': {
      const at = doc.layers.findIndex((l) => l.id === change.layer.id);
      if (at < 0) throw new Error(`undo: layer ${change.layer.id} is not in the document`);
      doc.layers.splice(at, 1);
      doc.activeLayerId = change.active.after;
      return;
    }
    case 'layer-update': {
      const at = doc.layers.findIndex((l) => l.id === change.id);
      if (at < 0) throw new Error(`undo: layer ${change.id} is not in the document`);
      doc.layers[at] = cloneRecord(change.after);
      return;
    }
    case 'layer-move': {
      const [layer] = doc.layers.splice(change.from, 1);
      doc.layers.splice(change.to, 0, layer);
      return;
    }
    case 'document-update':
      doc.name = change.after.name;
      doc.settings = cloneRecord(change.after.settings);
      return;
    case 'raster':
      rasters.get(change.rasterId).write(change.rect, change.after);
      rasters.changed(change.rasterId, change.rect);
      return;
  }
}

/**
 * Folds a run of later changes into `into` when both describe one continuing edit of the same thing (a slider
 * dragged on one layer, a prompt typed): the first `before` and the last `after`. Returns null when they
 * cannot fold. Raster changes fold in squashRasterRun, which needs the pixels.
 */
export function fold(into: Change, next: Change): Change | null {
  if (into.type === 'layer-update' && next.type === 'layer-update' && into.id === next.id) {
    return { type: 'layer-update', id: into.id, before: into.before, after: next.after };
  }
  if (into.type === 'document-update' && next.type === 'document-update') {
    return { type: 'document-update', before: into.before, after: next.after };
  }
  return null;
}

/**
 * Squashes raster changes of one raster, applied in order and still the latest on that raster, into one:
 * the union rectangle, its pixels now (after) and before the first (the befores pasted over in reverse).
 * A stroke of hundreds of dabs becomes one diff of its bounding box.
 */
export function squashRasterRun(
  run: Extract<Change, { type: 'raster' }>[],
  rasters: RasterStore,
): Extract<Change, { type: 'raster' }> {
  if (run.length === 1) return run[0];
  const rasterId = run[0].rasterId;
  const rect = run.reduce<Rect>((acc, c) => unionRect(acc, c.rect), { x: 0, y: 0, w: 0, h: 0 });
  const after = rasters.get(rasterId).read(rect);
  const before = after.slice();
  for (let i = run.length - 1; i >= 0; i--) {
    const c = run[i];
    blit(c.before, c.rect.w, c.rect.h, before, rect.w, c.rect.x - rect.x, c.rect.y - rect.y);
  }
  return { type: 'raster', rasterId, rect, before, after };
}

/** Bytes a change keeps alive (the history trims its oldest steps past a budget). */
export function changeBytes(change: Change): number {
  return change.type === 'raster' ? change.before.byteLength + change.after.byteLength : 1024;
}
