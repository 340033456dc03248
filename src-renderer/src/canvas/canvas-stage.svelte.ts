// The Konva scene of the studio canvas. Document layers are split over three Konva layers (canvases): those
// below the active layer, the active layer alone, and those above it. A stroke only redraws the middle one,
// so painting stays smooth with many full-size layers. A fourth Konva layer holds what tools draw (previews,
// the transform box) and the brush outline. Lifecycle: created by CanvasView on mount, destroyed on unmount.
import Konva from 'konva';
import type { Layer } from '../../../src-main/common/document/model.ts';
import type { CanvasPort } from './canvas-port.ts';
import { CannyNode, createLayerNode, type LayerNode, type NodeServices } from './layer-nodes.ts';
import { fit, toDoc, type Point, type Rect, type ViewportState } from './viewport.ts';

/** Room left around a fitted page: the tool palette on the left, the zoom control below. */
const FIT_INSETS = { left: 76, right: 28, top: 24, bottom: 56 };

Konva.pixelRatio = 1; // layer canvases at CSS pixels: the document is scaled by the viewport anyway

function checkerTile(): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = c.height = 16;
  const g = c.getContext('2d')!;
  // Light paper, as painting apps show transparency: line hints read dark on light.
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, 16, 16);
  g.fillStyle = '#ebebeb';
  g.fillRect(0, 0, 8, 8);
  g.fillRect(8, 8, 8, 8);
  return c;
}

export class CanvasStage {
  viewport = $state<ViewportState>({ scale: 1, x: 0, y: 0 });
  /** Size of the view in CSS pixels. */
  size = $state({ width: 1, height: 1 });

  readonly konva: Konva.Stage;
  /** Tool previews, in document coordinates. */
  readonly toolOverlay = new Konva.Group({ listening: false });
  private readonly background = new Konva.Layer({ listening: false });
  private readonly below = new Konva.Layer({ listening: false });
  private readonly current = new Konva.Layer({ listening: false });
  private readonly above = new Konva.Layer({ listening: false });
  private readonly overlay = new Konva.Layer({ listening: false });
  private readonly page: Konva.Rect;
  private readonly outline = new Konva.Group({ listening: false, visible: false });
  private readonly nodes = new Map<string, LayerNode>();
  /** Which Konva layer shows each document layer, for targeted redraws. */
  private readonly placement = new Map<string, Konva.Layer>();
  private rasterOf = new Map<string, string>(); // rasterId -> layerId
  private fitted = false;
  /** The document shown: another one (opened, created) is fitted to the view. */
  private docKey = '';
  private readonly off: () => void;
  private readonly services: NodeServices;
  /** Live mode's picture (not a document layer): above the top image layer, under the hints. */
  private live: Konva.Image | null = null;

  constructor(
    container: HTMLDivElement,
    private readonly port: CanvasPort,
  ) {
    this.konva = new Konva.Stage({ container, width: container.clientWidth || 1, height: container.clientHeight || 1 });
    this.page = new Konva.Rect({
      fillPatternImage: checkerTile() as unknown as HTMLImageElement,
      fillPatternRepeat: 'repeat',
      shadowColor: '#000',
      shadowBlur: 24,
      shadowOpacity: 0.55,
      shadowOffsetY: 4,
      listening: false,
    });
    this.background.add(this.page);
    this.overlay.add(this.toolOverlay, this.outline);
    this.outline.add(
      new Konva.Circle({ stroke: 'rgba(0,0,0,0.7)', strokeWidth: 3, strokeScaleEnabled: false, listening: false }),
      new Konva.Circle({ stroke: '#ffffff', strokeWidth: 1, strokeScaleEnabled: false, listening: false }),
    );
    this.konva.add(this.background, this.below, this.current, this.above, this.overlay);
    this.off = port.onRasterChange((rasterId, rect) => this.rasterChanged(rasterId, rect));
    this.services = {
      raster: (id) => port.source(id),
      rasterOfLayer: (layerId) => port.doc.layers.find((l) => l.id === layerId)?.rasterId ?? null,
      redraw: () => this.konva.batchDraw(),
      get width() {
        return port.doc.width;
      },
      get height() {
        return port.doc.height;
      },
    };
  }

  destroy(): void {
    this.off();
    for (const n of this.nodes.values()) n.destroy();
    this.nodes.clear();
    this.konva.destroy();
  }

  resize(width: number, height: number): void {
    if (width < 2 || height < 2) return;
    this.size = { width, height };
    this.konva.size({ width, height });
    if (!this.fitted) this.fit();
    else this.applyViewport();
  }

  fit(): void {
    const { doc } = this.port;
    this.fitted = true;
    this.setViewport(fit(this.size, doc, FIT_INSETS));
  }

  setViewport(v: ViewportState): void {
    this.viewport = v;
    this.applyViewport();
  }

  toDoc(screen: Point): Point {
    return toDoc(this.viewport, screen);
  }

  private applyViewport(): void {
    const { scale, x, y } = this.viewport;
    for (const l of [this.background, this.below, this.current, this.above, this.overlay]) {
      l.position({ x, y });
      l.scale({ x: scale, y: scale });
      // Zoomed in, pixels show as pixels (exact segmentation classes, hard edges), as painting apps do.
      l.imageSmoothingEnabled(scale < 2);
    }
    // The checkerboard keeps its screen size at every zoom.
    this.page.fillPatternScale({ x: 1 / scale, y: 1 / scale });
    this.page.shadowBlur(24 / scale);
    this.page.shadowOffsetY(4 / scale);
    this.sync();
    this.konva.batchDraw();
  }

  /** Brings the scene up to date with the document: nodes, their order, properties and placement. */
  sync(): void {
    const { doc } = this.port;
    const key = `${doc.id}|${doc.width}x${doc.height}`;
    if (key !== this.docKey) {
      this.docKey = key;
      if (this.fitted) this.setViewport(fit(this.size, doc, FIT_INSETS)); // setViewport syncs again, with the new key
      if (this.fitted) return;
    }
    this.page.size({ width: doc.width, height: doc.height });
    const activeIndex = doc.layers.findIndex((l) => l.id === doc.activeLayerId);
    const seen = new Set<string>();
    const order: [Konva.Layer, Konva.Node][] = [];
    this.rasterOf = new Map();
    doc.layers.forEach((layer, i) => {
      seen.add(layer.id);
      let node = this.nodes.get(layer.id);
      if (node && !this.sameSource(node, layer)) {
        node.destroy();
        node = undefined;
      }
      if (!node) {
        const created = createLayerNode(layer, this.services);
        if (!created) return;
        node = created;
        this.nodes.set(layer.id, node);
      }
      if ('rasterId' in layer) this.rasterOf.set(layer.rasterId, layer.id);
      const editing = i === activeIndex && layer.type === 'hint' && layer.hint === 'pose';
      node.update(layer, editing, this.viewport.scale);
      const target = activeIndex < 0 || i < activeIndex ? this.below : i === activeIndex ? this.current : this.above;
      order.push([target, node.node]);
      this.placement.set(layer.id, target);
    });
    for (const [id, node] of this.nodes) {
      if (!seen.has(id)) {
        node.destroy();
        this.nodes.delete(id);
        this.placement.delete(id);
      }
    }
    if (this.live) {
      // where a generated picture would land: right above the top image layer, in whichever Konva layer holds that
      const top = doc.layers.reduce((at, l, i) => (l.type === 'image' ? i : at), -1);
      const topNode = top >= 0 ? this.nodes.get(doc.layers[top].id)?.node : undefined;
      const at = topNode ? order.findIndex(([, n]) => n === topNode) + 1 : 0;
      order.splice(at, 0, [activeIndex >= 0 && top >= activeIndex ? this.above : this.below, this.live]);
    }
    // Re-parent in document order; moveTo keeps a node that is already in place where it is.
    const zIndex = new Map<Konva.Layer, number>();
    for (const [target, node] of order) {
      if (node.getParent() !== target) node.moveTo(target);
      const z = zIndex.get(target) ?? 0;
      if (node.zIndex() !== z) node.zIndex(z);
      zIndex.set(target, z + 1);
    }
    this.konva.batchDraw();
  }

  /** Shows live mode's picture stretched over the page at `opacity`, or removes it (null). */
  setLive(picture: CanvasImageSource | null, opacity = 1): void {
    if (!picture) {
      if (!this.live) return;
      this.live.destroy();
      this.live = null;
    } else {
      this.live ??= new Konva.Image({ image: picture, listening: false, perfectDrawEnabled: false });
      this.live.setAttrs({ image: picture, width: this.port.doc.width, height: this.port.doc.height, opacity });
    }
    this.sync();
  }

  /** The node keeps showing the right raster (a layer's raster id does not change, but be safe on reloads). */
  private sameSource(node: LayerNode, layer: Layer): boolean {
    if (layer.type === 'hint' && (layer.hint === 'pose' || layer.hint === 'canny')) return true;
    return node.source === this.port.source(layer.rasterId);
  }

  /** Pixels changed: refresh derived pixels (mask tint) and redraw the Konva layer that shows them. */
  rasterChanged(rasterId: string, rect: Rect): void {
    for (const node of this.nodes.values()) if (node instanceof CannyNode && node.sourceRasterId === rasterId) node.sourceChanged();
    const layerId = this.rasterOf.get(rasterId);
    if (!layerId) return;
    this.nodes.get(layerId)?.rasterChanged(rect);
    this.placement.get(layerId)?.batchDraw();
  }

  redrawOverlay(): void {
    this.overlay.batchDraw();
  }

  clearToolOverlay(): void {
    this.toolOverlay.destroyChildren();
    this.overlay.batchDraw();
  }

  /** The brush outline at `p` (document coordinates) with diameter `size`; null hides it. */
  showBrushOutline(p: Point | null, size: number): void {
    if (!p) {
      if (this.outline.visible()) {
        this.outline.visible(false);
        this.overlay.batchDraw();
      }
      return;
    }
    this.outline.visible(true);
    for (const c of this.outline.getChildren() as Konva.Circle[]) c.setAttrs({ x: p.x, y: p.y, radius: Math.max(0.5, size / 2) });
    this.overlay.batchDraw();
  }

  /** The composited colour under a document point (visible layers, their opacity), as #rrggbb. */
  sampleColor(p: Point): string | null {
    const { doc } = this.port;
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= doc.width || y >= doc.height) return null;
    let r = 0;
    let g = 0;
    let b = 0;
    let a = 0;
    for (const layer of doc.layers) {
      if (!layer.visible || layer.type === 'mask' || layer.type === 'region' || !('rasterId' in layer)) continue;
      if (layer.type === 'hint' && layer.hint === 'pose') continue;
      const source = this.port.source(layer.rasterId);
      if (!source) continue;
      const ctx = source.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | null;
      const d = ctx?.getImageData(x, y, 1, 1).data;
      if (!d) continue;
      const sa = (d[3] / 255) * layer.opacity;
      r = d[0] * sa + r * (1 - sa);
      g = d[1] * sa + g * (1 - sa);
      b = d[2] * sa + b * (1 - sa);
      a = sa + a * (1 - sa);
    }
    if (a <= 0) return null;
    const hex = (v: number) => Math.round(Math.min(255, v / a)).toString(16).padStart(2, '0');
    return `#${hex(r)}${hex(g)}${hex(b)}`;
  }
}
