// One Konva node per document layer: rasters are shown as they are (dark lines, grey depth, palette
// segments), the inpaint mask as a translucent red tint of its white pixels, CtrLoRA conditions and canny
// edges in their hint colour, and pose layers as vector skeletons in the OpenPose colours with joint handles
// while the layer is being edited.
// Nodes are reused across syncs (keyed by layer id) so a property change does not rebuild pixels.
import Konva from 'konva';
import type { Layer, PosePerson } from '../../../src-main/common/document/model.ts';
import { KEYPOINT_RADIUS, STICK_WIDTH } from '../../../src-main/common/hints/pose.ts';
import { cannyImage } from '../hints/hint-images.ts';
import { HINT_COLORS, layerColor, MASK_TINT } from './hint-look.ts';
import { LIMBS, POSE_CSS } from './pose-skeleton.ts';
import type { Rect } from './viewport.ts';

export type RasterSource = HTMLCanvasElement | OffscreenCanvas;

const CANNY_RGB = [parseInt(HINT_COLORS.canny.slice(1, 3), 16), parseInt(HINT_COLORS.canny.slice(3, 5), 16), parseInt(HINT_COLORS.canny.slice(5, 7), 16)];

export interface LayerNode {
  readonly layerId: string;
  readonly node: Konva.Node;
  /** The raster surface shown (null for vector and computed layers); a reloaded document has new ones. */
  readonly source: RasterSource | null;
  /** Brings the node up to date with the record (visibility, opacity, skeletons). */
  update(layer: Layer, editing: boolean, scale: number): void;
  /** Pixels of the layer's raster changed inside `rect`. */
  rasterChanged(rect: Rect): void;
  destroy(): void;
}

class RasterNode implements LayerNode {
  readonly node: Konva.Image;
  constructor(
    readonly layerId: string,
    readonly source: RasterSource,
  ) {
    this.node = new Konva.Image({ image: source as CanvasImageSource, listening: false, perfectDrawEnabled: false });
  }
  update(layer: Layer): void {
    this.node.visible(layer.visible);
    this.node.opacity(layer.opacity);
  }
  rasterChanged(): void {}
  destroy(): void {
    this.node.destroy();
  }
}

/**
 * A raster shown in one colour: the mask's white (repaint) pixels in red, a CtrLoRA condition's white strokes
 * in the condition colour (the model gets them white on black; the paper is light). A tint canvas is kept in
 * step with the raster, dirty rectangle by dirty rectangle.
 */
class TintNode implements LayerNode {
  readonly node: Konva.Image;
  private readonly tint: HTMLCanvasElement;
  constructor(
    readonly layerId: string,
    readonly source: RasterSource,
    private color: string,
  ) {
    this.tint = document.createElement('canvas');
    this.tint.width = source.width;
    this.tint.height = source.height;
    this.node = new Konva.Image({ image: this.tint, listening: false, perfectDrawEnabled: false });
    this.rasterChanged({ x: 0, y: 0, width: source.width, height: source.height });
  }
  update(layer: Layer): void {
    this.node.visible(layer.visible);
    this.node.opacity(layer.opacity);
    const color = layerColor(layer);
    if (color !== this.color) {
      this.color = color; // a condition bound to another model
      this.rasterChanged({ x: 0, y: 0, width: this.tint.width, height: this.tint.height });
    }
  }
  rasterChanged(r: Rect): void {
    const g = this.tint.getContext('2d')!;
    const x = Math.max(0, Math.floor(r.x));
    const y = Math.max(0, Math.floor(r.y));
    const w = Math.min(this.tint.width, Math.ceil(r.x + r.width)) - x;
    const h = Math.min(this.tint.height, Math.ceil(r.y + r.height)) - y;
    if (w <= 0 || h <= 0) return;
    g.save();
    // source-in is unbounded: without the clip it would clear the whole tint outside this rectangle.
    g.beginPath();
    g.rect(x, y, w, h);
    g.clip();
    g.clearRect(x, y, w, h);
    g.drawImage(this.source as CanvasImageSource, x, y, w, h, x, y, w, h);
    g.globalCompositeOperation = 'source-in';
    g.fillStyle = this.color;
    g.fillRect(x, y, w, h);
    g.restore();
  }
  destroy(): void {
    this.node.destroy();
  }
}

/**
 * A canny hint previews the edges its image layer gives at the layer's thresholds, in the canny colour.
 * Recomputed (debounced) when the thresholds, the source layer or the source's pixels change.
 */
class CannyNode implements LayerNode {
  readonly node: Konva.Image;
  readonly source = null;
  private readonly preview: HTMLCanvasElement;
  private key = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  sourceRasterId: string | null = null;
  constructor(
    readonly layerId: string,
    private readonly raster: (id: string) => RasterSource | null,
    private readonly sourceRaster: (layerId: string) => string | null,
    private readonly redraw: () => void,
    width: number,
    height: number,
  ) {
    this.preview = document.createElement('canvas');
    this.preview.width = width;
    this.preview.height = height;
    this.node = new Konva.Image({ image: this.preview, listening: false, perfectDrawEnabled: false });
  }
  update(layer: Layer): void {
    this.node.visible(layer.visible);
    this.node.opacity(layer.opacity);
    if (layer.type !== 'hint' || !layer.canny) return;
    const { sourceLayerId, low, high } = layer.canny;
    this.sourceRasterId = sourceLayerId ? this.sourceRaster(sourceLayerId) : null;
    const key = `${this.sourceRasterId}|${low}|${high}`;
    if (key !== this.key) {
      this.key = key;
      this.schedule(low, high);
    }
  }
  /** The source image's pixels changed. */
  sourceChanged(): void {
    const [, low, high] = this.key.split('|').map(Number);
    this.schedule(low, high);
  }
  private schedule(low: number, high: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.compute(low, high), 80);
  }
  private compute(low: number, high: number): void {
    this.timer = null;
    const { width, height } = this.preview;
    const g = this.preview.getContext('2d')!;
    g.clearRect(0, 0, width, height);
    const source = this.sourceRasterId ? this.raster(this.sourceRasterId) : null;
    const sg = source?.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | null | undefined;
    if (sg) {
      const edges = cannyImage(sg.getImageData(0, 0, width, height), width, height, low, high);
      const out = g.createImageData(width, height);
      const [r, gg, b] = CANNY_RGB;
      for (let i = 0, o = 0; i < edges.data.length; i += 3, o += 4) {
        if (edges.data[i] === 0) continue;
        out.data[o] = r;
        out.data[o + 1] = gg;
        out.data[o + 2] = b;
        out.data[o + 3] = 255;
      }
      g.putImageData(out, 0, 0);
    }
    this.redraw();
  }
  rasterChanged(): void {}
  destroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.node.destroy();
  }
}

/** Limb width on screen: the width the model is fed (STICK_WIDTH each side), at least 3 screen pixels. */
export function poseStickWidth(scale: number): number {
  return Math.max(STICK_WIDTH * 2, 3 / scale);
}

class PoseNode implements LayerNode {
  readonly node = new Konva.Group({ listening: false });
  readonly source = null;
  private key = '';
  constructor(readonly layerId: string) {}

  update(layer: Layer, editing: boolean, scale: number): void {
    this.node.visible(layer.visible);
    this.node.opacity(layer.opacity);
    if (layer.type !== 'hint') return;
    const key = `${JSON.stringify(layer.people)}|${editing}|${scale.toFixed(3)}`;
    if (key === this.key) return;
    this.key = key;
    this.node.destroyChildren();
    for (const person of layer.people) this.drawPerson(person, editing, scale);
  }

  private drawPerson(person: PosePerson, editing: boolean, scale: number): void {
    const k = person.keypoints;
    const stick = poseStickWidth(scale);
    LIMBS.forEach(([a, b], i) => {
      if (!k[a]?.visible || !k[b]?.visible) return;
      this.node.add(
        new Konva.Line({ points: [k[a].x, k[a].y, k[b].x, k[b].y], stroke: POSE_CSS[i], strokeWidth: stick, lineCap: 'round', opacity: 0.6, listening: false }),
      );
    });
    k.forEach((p, i) => {
      if (!p.visible && !editing) return;
      // Joints are dots of the stick width; while editing they grow into handles of a constant screen size.
      const r = editing ? Math.max(KEYPOINT_RADIUS, 6 / scale) : Math.max(KEYPOINT_RADIUS, 2 / scale);
      this.node.add(
        new Konva.Circle({
          x: p.x,
          y: p.y,
          radius: r,
          fill: p.visible ? POSE_CSS[i] : 'transparent',
          stroke: editing ? '#ffffff' : undefined,
          strokeWidth: editing ? 1.5 / scale : 0,
          dash: p.visible ? undefined : [3 / scale, 2 / scale],
          listening: false,
        }),
      );
    });
  }

  rasterChanged(): void {}
  destroy(): void {
    this.node.destroy();
  }
}

export interface NodeServices {
  raster(id: string): RasterSource | null;
  /** The raster id of a layer (the canny source), or null when the layer is gone. */
  rasterOfLayer(layerId: string): string | null;
  redraw(): void;
  width: number;
  height: number;
}

export function createLayerNode(layer: Layer, services: NodeServices): LayerNode | null {
  if (layer.type === 'hint' && layer.hint === 'pose') return new PoseNode(layer.id);
  if (layer.type === 'hint' && layer.hint === 'canny') {
    return new CannyNode(layer.id, services.raster, services.rasterOfLayer, services.redraw, services.width, services.height);
  }
  const source = services.raster(layer.rasterId);
  if (!source) return null;
  if (layer.type === 'mask') return new TintNode(layer.id, source, MASK_TINT);
  if (layer.type === 'region') return new TintNode(layer.id, source, layerColor(layer));
  if (layer.type === 'hint' && layer.hint === 'condition') return new TintNode(layer.id, source, layerColor(layer));
  return new RasterNode(layer.id, source);
}

export { CannyNode };
