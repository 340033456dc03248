// The studio's shared state: the open document (its DocumentStore), the tool settings, the canvas once it is
// mounted, and the generation in progress. The canvas workspace and the side panel are separate components
// mounted by the shell, so they meet here: one Studio per app (per Session), made on first use.
import type { CanvasInput } from '../../canvas/canvas-input.ts';
import type { CanvasPort } from '../../canvas/canvas-port.ts';
import type { CanvasStage } from '../../canvas/canvas-stage.svelte.ts';
import type { RasterSource } from '../../canvas/layer-nodes.ts';
import { ToolSettings } from '../../canvas/tool-settings.svelte.ts';
import type { Ctx2D } from '../../canvas/tools/tool.ts';
import type { Layer } from '../../../../src-main/common/document/model.ts';
import type { CanvasSurface } from '../../document/raster-canvas.ts';
import { fullRect, readImage, type RgbaImage } from '../../document/raster-store.ts';
import type { StudioDocument } from '../../document/store.svelte.ts';
import type { DocumentStore } from '../../document/store.ts';
import type { AppContext } from '../../state/context.ts';
import { Generation } from './generation.svelte.ts';
import { HistoryBrowser } from './history.svelte.ts';
import { LiveMode } from './live.svelte.ts';

export class Studio {
  readonly tools = new ToolSettings();
  /** The canvas while the studio view is shown (null otherwise). */
  stage = $state.raw<CanvasStage | null>(null);
  input: CanvasInput | null = null;
  /** One line under the canvas: why a stroke did nothing, what a tool does. */
  message = $state('');
  /** Which tab of the side panel shows. */
  panelTab = $state<'layers' | 'generate'>('layers');
  private messageTimer: ReturnType<typeof setTimeout> | null = null;
  readonly port: CanvasPort;
  readonly store: DocumentStore<CanvasSurface>;
  readonly generation: Generation;
  readonly history: HistoryBrowser;
  readonly live: LiveMode;

  constructor(
    readonly app: AppContext,
    readonly documents: StudioDocument,
  ) {
    this.store = documents.store;
    this.port = storePort(this.store);
    this.generation = new Generation(app, this.store, (id) => this.pixels(id), () => this.composite());
    this.generation.start();
    this.history = new HistoryBrowser(app);
    this.history.start();
    this.live = new LiveMode(app, this.store, this.generation, { pixels: (id) => this.pixels(id), composite: () => this.composite(), busy: () => this.input?.busy ?? false });
    this.live.start();
  }

  /** A raster's pixels (for control images and the mask), or null when the store has none. */
  pixels(rasterId: string): RgbaImage | null {
    return this.store.rasters.has(rasterId) ? readImage(this.store.rasters.get(rasterId)) : null;
  }

  /** The visible image layers over white, at their opacity: the picture inpainting starts from. */
  composite(): RgbaImage {
    const doc = this.store.doc;
    const canvas = new OffscreenCanvas(doc.width, doc.height);
    const g = canvas.getContext('2d', { willReadFrequently: true })!;
    g.fillStyle = '#fff';
    g.fillRect(0, 0, doc.width, doc.height);
    for (const layer of doc.layers) {
      if (layer.type !== 'image' || !layer.visible || !this.store.rasters.has(layer.rasterId)) continue;
      g.globalAlpha = layer.opacity;
      g.drawImage(this.store.rasters.get(layer.rasterId).canvas as CanvasImageSource, 0, 0);
    }
    const r = fullRect(doc.width, doc.height);
    return { width: doc.width, height: doc.height, data: g.getImageData(r.x, r.y, r.w, r.h).data };
  }

  get doc() {
    return this.store.state.doc;
  }

  get active(): Layer | null {
    const doc = this.store.state.doc;
    return doc?.layers.find((l) => l.id === doc.activeLayerId) ?? null;
  }

  say(text: string): void {
    this.message = text;
    if (this.messageTimer) clearTimeout(this.messageTimer);
    this.messageTimer = setTimeout(() => (this.message = ''), 3500);
  }

  undo(): void {
    if (this.input?.busy) return;
    if (!this.store.undo() && this.store.state.doc) this.say('Nothing to undo');
  }

  redo(): void {
    if (this.input?.busy) return;
    if (!this.store.redo() && this.store.state.doc) this.say('Nothing to redo');
  }
}

/** The canvas's view of a DocumentStore whose rasters are canvases. */
export function storePort(store: DocumentStore<CanvasSurface>): CanvasPort {
  const source = (id: string): RasterSource | null => (store.rasters.has(id) ? store.rasters.get(id).canvas : null);
  return {
    get doc() {
      return store.doc;
    },
    get active() {
      const doc = store.doc;
      return doc.layers.find((l) => l.id === doc.activeLayerId) ?? null;
    },
    source,
    onRasterChange: (cb) => store.rasters.onChange((id, r) => cb(id, { x: r.x, y: r.y, width: r.w, height: r.h })),
    begin: (label) => void store.mark(label),
    paint: (rasterId, rect, draw) =>
      store.paint(rasterId, { x: rect.x, y: rect.y, w: rect.width, h: rect.height }, (surface) => draw(surface.context as Ctx2D)),
    commit: () => {},
    bail: () => store.bail(),
    updateLayer: (id, patch, label) => store.updateLayer(id, patch, label),
    undo: () => store.undo(),
    redo: () => store.redo(),
  };
}

const studios = new WeakMap<object, Studio>();

/**
 * The app's Studio, created on first use over the app's StudioDocument, under its own effect root: created in
 * the studio view's setup, its deriveds would belong to that view and go stale once it closed (library and back).
 */
export function studioFor(app: AppContext, documents: () => StudioDocument): Studio {
  const known = studios.get(app.session);
  if (known) return known;
  let studio: Studio | undefined;
  $effect.root(() => {
    studio = new Studio(app, documents());
  });
  studios.set(app.session, studio!);
  return studio!;
}
