// The DocumentStore: the open document as one plain record (reactive in the app: store.svelte.ts passes
// Svelte's $state as `reactive`), its rasters out of reactive state, and every edit as a typed operation that
// applies a Change and records it in the undo history. Views read `store.state`; tools and panels call the
// operations below. Autosave listens with `onEdit`.
//
// Undo steps: a gesture starts with `mark(label)` (pointer down on the canvas, grabbing a slider) and every
// edit until the next mark is one step. Discrete operations (add/remove/move/duplicate a layer, toggles,
// rename, binding, adding a person) are a step of their own unless run inside `transact`. Continuous
// operations (paint, updateLayer, sliders, keypoint drags, settings) join the open step, and open one of their
// own when the previous step ended with a discrete operation, an undo, a redo or a bail.
// Pure module: runs under node with PixelSurface rasters.
import { apply, cloneRecord, type Change, type DocumentFields } from './changes.ts';
import { UndoHistory, type HistoryOptions } from './history.ts';
import { createHintLayer, createImageLayer, createMaskLayer, createRegionLayer, layerIndex, newId } from '../../../src-main/common/document/layers.ts';
import type { DocumentRecord, GenerationSettings, HintKind, HintLayer, ImageLayer, Layer, PosePerson, RegionLayer } from '../../../src-main/common/document/model.ts';
import { clipRect, isEmptyRect, RasterStore, type RasterSurface, type Rect, type RgbaImage, type SurfaceFactory } from './raster-store.ts';
import { PersonEdits } from './person-edits.ts';

/** What one edit (or undo/redo) touched; autosave saves the record and these rasters. */
export interface EditInfo {
  rasters: ReadonlySet<string>;
  /** The layer list, a layer's properties or the settings changed (not only pixels). */
  record: boolean;
}

/** The store's reactive state: views read it, only the store writes it. */
export interface DocumentState {
  doc: DocumentRecord | null;
  canUndo: boolean;
  canRedo: boolean;
  undoLabel: string;
  redoLabel: string;
  /** Bumped by every edit, undo and redo (for views that derive images from rasters). */
  version: number;
}

/** Fields of a layer an edit may set; `type`, `id`, `rasterId` and a hint's kind never change. */
export type LayerPatch = Partial<Omit<ImageLayer, 'type' | 'id' | 'rasterId'>> &
  Partial<Omit<HintLayer, 'type' | 'id' | 'rasterId' | 'hint'>> &
  Partial<Omit<RegionLayer, 'type' | 'id' | 'rasterId'>>;

export interface DocumentStoreOptions<S extends RasterSurface> {
  surfaces: SurfaceFactory<S>;
  /** Wraps the state object (Svelte's $state in the app); identity under node. */
  reactive?: <T extends object>(value: T) => T;
  history?: HistoryOptions;
}

export class DocumentStore<S extends RasterSurface = RasterSurface> {
  readonly state: DocumentState;
  readonly rasters: RasterStore<S>;
  readonly people: PersonEdits;
  private readonly history: UndoHistory;
  private readonly listeners = new Set<(edit: EditInfo) => void>();
  /** The next continuous edit opens a step of its own. */
  private needsMark = true;
  private transactDepth = 0;

  constructor(options: DocumentStoreOptions<S>) {
    const reactive = options.reactive ?? (<T extends object>(v: T) => v);
    this.state = reactive<DocumentState>({ doc: null, canUndo: false, canRedo: false, undoLabel: '', redoLabel: '', version: 0 });
    this.rasters = new RasterStore(options.surfaces);
    this.history = new UndoHistory(() => ({ doc: this.doc, rasters: this.rasters }), options.history);
    this.people = new PersonEdits(this);
  }

  /** The open document; throws when none is open. */
  get doc(): DocumentRecord {
    if (!this.state.doc) throw new Error('DocumentStore: no document is open');
    return this.state.doc;
  }

  /** Opens `record` with its rasters (missing ones start transparent); forgets the undo history. */
  load(record: DocumentRecord, rasters: ReadonlyMap<string, RgbaImage> = new Map()): void {
    this.history.clear();
    this.rasters.clear();
    const doc = cloneRecord(record);
    for (const layer of doc.layers) {
      const image = rasters.get(layer.rasterId);
      if (image) this.rasters.put(layer.rasterId, image);
      else this.rasters.ensure(layer.rasterId, doc.width, doc.height);
    }
    this.state.doc = doc;
    this.needsMark = true;
    this.sync();
  }

  /** Closes the document (nothing is saved here: autosave flushes first). */
  unload(): void {
    this.history.clear();
    this.rasters.clear();
    this.state.doc = null;
    this.sync();
  }

  onEdit(listener: (edit: EditInfo) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- undo steps ---------------------------------------------------------------------------------

  /** Starts an undo step (a gesture); returns its id for bailToMark. */
  mark(label = ''): string {
    this.needsMark = false;
    const id = this.history.mark(label);
    this.sync();
    return id;
  }

  /** Rolls the open step back to its mark (an abandoned gesture: Escape, pointer cancel). */
  bail(): void {
    this.afterHistory(() => this.history.bail());
  }

  bailToMark(markId: string): void {
    this.afterHistory(() => this.history.bailToMark(markId));
  }

  undo(): boolean {
    return this.afterHistory(() => this.history.undo()?.changes ?? null);
  }

  redo(): boolean {
    return this.afterHistory(() => this.history.redo()?.changes ?? null);
  }

  /** Runs several operations as one undo step. */
  transact<T>(label: string, run: () => T): T {
    if (this.transactDepth === 0) this.mark(label);
    this.transactDepth++;
    try {
      return run();
    } finally {
      this.transactDepth--;
      if (this.transactDepth === 0) this.needsMark = true;
    }
  }

  // ---- layers (discrete: one step each) -----------------------------------------------------------

  /** Inserts `layer` at `index` (default: above the active layer, else on top) and makes it active. */
  addLayer<L extends Layer>(layer: L, index?: number): L {
    const doc = this.doc;
    const active = doc.activeLayerId ? layerIndex(doc, doc.activeLayerId) : -1;
    const at = Math.max(0, Math.min(doc.layers.length, index ?? (active >= 0 ? active + 1 : doc.layers.length)));
    this.discrete(`Add ${layer.name}`, () => {
      this.rasters.ensure(layer.rasterId, doc.width, doc.height);
      const active = { before: doc.activeLayerId, after: layer.id };
      this.commit({ type: 'layer-insert', index: at, layer: cloneRecord(layer), active });
    });
    return layer;
  }

  addHintLayer(hint: HintKind, init: Parameters<typeof createHintLayer>[1] = {}, index?: number): HintLayer {
    return this.addLayer(createHintLayer(hint, init), index);
  }

  addImageLayer(init: Parameters<typeof createImageLayer>[0] = {}, index?: number) {
    return this.addLayer(createImageLayer(init), index);
  }

  addMaskLayer(init: Parameters<typeof createMaskLayer>[0] = {}, index?: number) {
    return this.addLayer(createMaskLayer(init), index);
  }

  addRegionLayer(init: Parameters<typeof createRegionLayer>[0] = {}, index?: number): RegionLayer {
    return this.addLayer(createRegionLayer(init), index);
  }

  removeLayer(id: string): void {
    const doc = this.doc;
    const index = this.indexOf(id);
    const layer = cloneRecord(doc.layers[index]);
    // The selection moves to the layer that takes the removed one's place (or the one below it).
    const neighbour = doc.layers[index + 1] ?? doc.layers[index - 1] ?? null;
    const after = doc.activeLayerId === id ? (neighbour?.id ?? null) : doc.activeLayerId;
    this.discrete(`Delete ${layer.name}`, () =>
      this.commit({ type: 'layer-remove', index, layer, active: { before: doc.activeLayerId, after } }),
    );
  }

  /** Moves a layer to `toIndex` (0 = bottom) in the list as it is after removing it. */
  moveLayer(id: string, toIndex: number): void {
    const from = this.indexOf(id);
    const to = Math.max(0, Math.min(this.doc.layers.length - 1, toIndex));
    if (from === to) return;
    this.discrete('Reorder layers', () => this.commit({ type: 'layer-move', from, to }));
  }

  /** A copy just above the layer, with a copy of its pixels; returns it. */
  duplicateLayer(id: string): Layer {
    const source = this.doc.layers[this.indexOf(id)];
    const copy = { ...cloneRecord(source), id: newId('layer'), name: `${source.name} copy`, rasterId: newId('raster') };
    this.transact(`Duplicate ${source.name}`, () => {
      this.addLayer(copy, this.indexOf(id) + 1);
      const from = this.rasters.get(source.rasterId);
      this.paint(copy.rasterId, { x: 0, y: 0, w: from.width, h: from.height }, (to) =>
        to.write({ x: 0, y: 0, w: from.width, h: from.height }, from.read({ x: 0, y: 0, w: from.width, h: from.height })),
      );
    });
    return copy;
  }

  renameLayer(id: string, name: string): void {
    this.discrete('Rename layer', () => this.patchLayer(id, { name }));
  }

  setVisible(id: string, visible: boolean): void {
    this.discrete(visible ? 'Show layer' : 'Hide layer', () => this.patchLayer(id, { visible }));
  }

  setLocked(id: string, locked: boolean): void {
    this.discrete(locked ? 'Lock layer' : 'Unlock layer', () => this.patchLayer(id, { locked }));
  }

  /** Includes or leaves out a hint layer from generation (the multi-condition panel's toggle). */
  setEnabled(id: string, enabled: boolean): void {
    this.discrete(enabled ? 'Enable hint' : 'Disable hint', () => this.patchLayer(id, { enabled }));
  }

  setControl(id: string, control: HintLayer['control']): void {
    this.discrete('Choose control model', () => this.patchLayer(id, { control }));
  }

  /** Limits a hint layer to a region layer (null: the whole picture). */
  setHintRegion(id: string, regionLayerId: string | null): void {
    this.hintLayer(id);
    this.discrete('Choose hint region', () => this.patchLayer(id, { regionLayerId }));
  }

  setCannySource(id: string, sourceLayerId: string | null): void {
    const canny = this.hintLayer(id).canny;
    if (!canny) throw new Error(`layer ${id} is not a canny hint`);
    this.discrete('Choose canny source', () => this.patchLayer(id, { canny: { ...canny, sourceLayerId } }));
  }

  /** Selection: not an undoable edit, but saved with the document. */
  setActiveLayer(id: string | null): void {
    if (id !== null) this.indexOf(id);
    if (this.doc.activeLayerId === id) return;
    this.doc.activeLayerId = id;
    this.emit({ rasters: new Set(), record: true });
  }

  // ---- continuous edits (join the open step) ------------------------------------------------------

  /** Sets any properties of a layer: one Change (folded with the previous one of the same layer). */
  updateLayer(id: string, patch: LayerPatch, label = 'Edit layer'): void {
    this.continuous(label, () => this.patchLayer(id, patch));
  }

  setOpacity(id: string, opacity: number): void {
    this.updateLayer(id, { opacity: clamp(opacity, 0, 1) }, 'Layer opacity');
  }

  setWeight(id: string, weight: number): void {
    this.updateLayer(id, { weight: clamp(weight, 0, 2) }, 'Hint weight');
  }

  /** Start/end fractions of the steps; kept ordered (start < end) and within [0, 1]. */
  setRange(id: string, start: number, end: number): void {
    const s = clamp(start, 0, 1);
    const e = clamp(end, 0, 1);
    this.updateLayer(id, { start: Math.min(s, e), end: Math.max(s, e) }, 'Hint range');
  }

  setCannyThresholds(id: string, low: number, high: number): void {
    const canny = this.hintLayer(id).canny;
    if (!canny) throw new Error(`layer ${id} is not a canny hint`);
    const lo = Math.round(clamp(low, 0, 1000));
    const hi = Math.round(clamp(high, 0, 1000));
    this.updateLayer(id, { canny: { ...canny, low: Math.min(lo, hi), high: Math.max(lo, hi) } }, 'Canny thresholds');
  }

  /** Replaces a pose layer's people (PersonEdits builds on this). */
  setPeople(id: string, people: PosePerson[], label = 'Edit pose'): void {
    this.updateLayer(id, { people }, label);
  }

  updateSettings(patch: Partial<GenerationSettings>): void {
    const doc = this.doc;
    this.continuous('Generation settings', () => this.patchDocument({ name: doc.name, settings: { ...cloneRecord(doc.settings), ...patch } }));
  }

  renameDocument(name: string): void {
    const doc = this.doc;
    this.discrete('Rename document', () => this.patchDocument({ name, settings: cloneRecord(doc.settings) }));
  }

  /**
   * Changes pixels of a raster: `draw` paints on the surface inside `rect` (the dirty rectangle, clipped to
   * the raster); the rectangle's pixels before and after become one Change. A stroke calls this per segment
   * after one mark(); the step squashes the segments into one diff of their bounding box.
   */
  paint(rasterId: string, rect: Rect, draw: (surface: S) => void): void {
    const surface = this.rasters.get(rasterId);
    const dirty = clipRect(rect, surface.width, surface.height);
    if (isEmptyRect(dirty)) return;
    this.continuous('Paint', () => {
      const before = surface.read(dirty);
      draw(surface);
      const after = surface.read(dirty);
      this.history.record({ type: 'raster', rasterId, rect: dirty, before, after });
      this.rasters.changed(rasterId, dirty);
      this.emit({ rasters: new Set([rasterId]), record: false });
    });
  }

  /** Replaces a raster's whole content (an imported picture, a generated result, a cleared layer). */
  replaceRaster(rasterId: string, image: RgbaImage, label = 'Replace pixels'): void {
    this.discrete(label, () => this.paint(rasterId, { x: 0, y: 0, w: image.width, h: image.height }, (s) => s.write({ x: 0, y: 0, w: image.width, h: image.height }, image.data)));
  }

  // ---- internals ----------------------------------------------------------------------------------

  hintLayer(id: string): HintLayer {
    const layer = this.doc.layers[this.indexOf(id)];
    if (layer.type !== 'hint') throw new Error(`layer ${id} is not a hint layer`);
    return layer;
  }

  private indexOf(id: string): number {
    const at = layerIndex(this.doc, id);
    if (at < 0) throw new Error(`DocumentStore: there is no layer ${id}`);
    return at;
  }

  private patchLayer(id: string, patch: LayerPatch): void {
    const before = cloneRecord(this.doc.layers[this.indexOf(id)]);
    const after = { ...before, ...cloneRecord(patch), id: before.id, type: before.type, rasterId: before.rasterId } as Layer;
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    this.commit({ type: 'layer-update', id, before, after });
  }

  private patchDocument(after: DocumentFields): void {
    const before = { name: this.doc.name, settings: cloneRecord(this.doc.settings) };
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    this.commit({ type: 'document-update', before, after });
  }

  /** Applies a Change to the document, records it, tells listeners. */
  private commit(change: Change): void {
    apply(this.doc, this.rasters, change);
    this.history.record(change);
    this.emit({ rasters: new Set(change.type === 'raster' ? [change.rasterId] : []), record: change.type !== 'raster' });
  }

  private discrete(label: string, run: () => void): void {
    if (this.transactDepth > 0) return run();
    this.history.mark(label);
    this.needsMark = false;
    try {
      run();
    } finally {
      this.needsMark = true;
    }
  }

  private continuous(label: string, run: () => void): void {
    if (this.needsMark && this.transactDepth === 0) {
      this.history.mark(label);
      this.needsMark = false;
    }
    run();
  }

  private afterHistory(run: () => Change[] | null): boolean {
    if (!this.state.doc) return false;
    const changes = run();
    this.needsMark = true;
    this.sync();
    if (!changes || changes.length === 0) return false;
    const rasters = new Set(changes.flatMap((c) => (c.type === 'raster' ? [c.rasterId] : [])));
    this.emit({ rasters, record: changes.some((c) => c.type !== 'raster') });
    return true;
  }

  private emit(edit: EditInfo): void {
    this.sync();
    for (const listener of [...this.listeners]) listener(edit);
  }

  private sync(): void {
    const s = this.state;
    s.canUndo = this.history.canUndo;
    s.canRedo = this.history.canRedo;
    s.undoLabel = this.history.undoLabel;
    s.redoLabel = this.history.redoLabel;
    s.version++;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;
}
