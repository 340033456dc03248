// What the canvas needs from the open document, in the canvas's own terms. studio-document.ts implements
// it over the DocumentStore; the canvas never reaches into the store's undo history or autosave itself.
import type { DocumentRecord, Layer } from '../../../src-main/common/document/model.ts';
import type { RasterSource } from './layer-nodes.ts';
import type { Rect } from './viewport.ts';
import type { Ctx2D } from './tools/tool.ts';
import type { LayerPatch } from '../document/store.ts';

export interface CanvasPort {
  /** The document record (reactive: reading it inside an effect tracks it). */
  readonly doc: DocumentRecord;
  readonly active: Layer | null;
  /** The drawable of a raster (Konva draws it, tools paint into it); null when the store has none. */
  source(rasterId: string): RasterSource | null;
  /** Called with the document rectangle of every pixel change, the canvas's own and undo's alike. */
  onRasterChange(cb: (rasterId: string, rect: Rect) => void): () => void;
  /** Opens an undo step for a gesture. */
  begin(label: string): void;
  /** Paints a raster inside `rect` with `draw` as part of the gesture (recorded for undo). */
  paint(rasterId: string, rect: Rect, draw: (g: Ctx2D) => void): void;
  commit(): void;
  bail(): void;
  updateLayer(id: string, patch: LayerPatch, label?: string): void;
  undo(): void;
  redo(): void;
}
