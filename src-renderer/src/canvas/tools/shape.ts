// Rectangle and ellipse: drag out a box (Shift: square/circle, Alt: from the centre), preview on the overlay,
// drawn into the raster on pointerup as one undo step, filled or outlined with the brush size. On
// segmentation layers the shape is rasterised as whole pixels so only palette colours are written.
import Konva from 'konva';
import { paintStyle } from '../paint-style.ts';
import type { PaintStyle } from '../brush-stamp.ts';
import type { Point, Rect } from '../viewport.ts';
import type { ShapeKind } from '../tool-settings.svelte.ts';
import { requireTarget, type Ctx2D, type Tool, type ToolContext, type ToolPointer } from './tool.ts';

export function shapeBox(from: Point, to: Point, square: boolean, centred: boolean): Rect {
  let w = to.x - from.x;
  let h = to.y - from.y;
  if (square) {
    const s = Math.max(Math.abs(w), Math.abs(h));
    w = Math.sign(w || 1) * s;
    h = Math.sign(h || 1) * s;
  }
  if (centred) return { x: from.x - Math.abs(w), y: from.y - Math.abs(h), width: 2 * Math.abs(w), height: 2 * Math.abs(h) };
  return { x: Math.min(from.x, from.x + w), y: Math.min(from.y, from.y + h), width: Math.abs(w), height: Math.abs(h) };
}

/** Horizontal span [x0, x1) of an ellipse inscribed in `box` on pixel row y (null outside). */
function ellipseSpan(box: Rect, y: number): [number, number] | null {
  const rx = box.width / 2;
  const ry = box.height / 2;
  if (rx <= 0 || ry <= 0) return null;
  const dy = (y + 0.5 - (box.y + ry)) / ry;
  if (Math.abs(dy) > 1) return null;
  const half = rx * Math.sqrt(1 - dy * dy);
  const cx = box.x + rx;
  return [Math.round(cx - half), Math.round(cx + half)];
}

function spanOf(kind: ShapeKind, box: Rect, y: number): [number, number] | null {
  if (kind === 'ellipse') return ellipseSpan(box, y);
  if (y < Math.round(box.y) || y >= Math.round(box.y + box.height)) return null;
  return [Math.round(box.x), Math.round(box.x + box.width)];
}

/** Draws the shape; aliased shapes are filled row by row so no blended edge pixels appear. */
export function drawShape(g: Ctx2D, kind: ShapeKind, box: Rect, filled: boolean, lineWidth: number, style: PaintStyle): void {
  g.save();
  g.globalCompositeOperation = style.composite;
  g.fillStyle = style.color;
  g.strokeStyle = style.color;
  if (style.aliased) {
    const inset = filled ? null : { x: box.x + lineWidth, y: box.y + lineWidth, width: box.width - 2 * lineWidth, height: box.height - 2 * lineWidth };
    for (let y = Math.floor(box.y); y < Math.ceil(box.y + box.height); y++) {
      const outer = spanOf(kind, box, y);
      if (!outer) continue;
      const inner = inset && inset.width > 0 && inset.height > 0 ? spanOf(kind, inset, y) : null;
      if (!inner) g.fillRect(outer[0], y, outer[1] - outer[0], 1);
      else {
        g.fillRect(outer[0], y, inner[0] - outer[0], 1);
        g.fillRect(inner[1], y, outer[1] - inner[1], 1);
      }
    }
  } else {
    g.beginPath();
    const half = filled ? 0 : lineWidth / 2;
    const b = { x: box.x + half, y: box.y + half, width: Math.max(0, box.width - 2 * half), height: Math.max(0, box.height - 2 * half) };
    if (kind === 'rect') g.rect(b.x, b.y, b.width, b.height);
    else g.ellipse(b.x + b.width / 2, b.y + b.height / 2, b.width / 2, b.height / 2, 0, 0, Math.PI * 2);
    if (filled) g.fill();
    else {
      g.lineWidth = lineWidth;
      g.stroke();
    }
  }
  g.restore();
}

export class ShapeTool implements Tool {
  readonly id = 'shape' as const;
  readonly cursor = 'crosshair';
  state: 'idle' | 'dragging' = 'idle';
  private from: Point = { x: 0, y: 0 };
  private box: Rect = { x: 0, y: 0, width: 0, height: 0 };
  private preview: Konva.Rect | Konva.Ellipse | null = null;

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0 || !requireTarget(ctx)) return;
    this.state = 'dragging';
    this.from = e.doc;
    this.box = { x: e.doc.x, y: e.doc.y, width: 0, height: 0 };
    const color = paintStyle(ctx.active!, ctx.settings).color;
    const look = ctx.settings.shapeFilled
      ? { fill: color, opacity: 0.6 }
      : { stroke: color, strokeWidth: ctx.settings.size, opacity: 0.8 };
    this.preview = ctx.settings.shape === 'rect' ? new Konva.Rect({ ...look, listening: false }) : new Konva.Ellipse({ ...look, radiusX: 0, radiusY: 0, listening: false });
    ctx.overlay.add(this.preview);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging' || !this.preview) return;
    this.box = shapeBox(this.from, e.doc, e.shift, e.alt);
    const b = this.box;
    const inset = ctx.settings.shapeFilled ? 0 : ctx.settings.size / 2;
    if (this.preview instanceof Konva.Rect) {
      this.preview.setAttrs({ x: b.x + inset, y: b.y + inset, width: Math.max(0, b.width - 2 * inset), height: Math.max(0, b.height - 2 * inset) });
    } else {
      this.preview.setAttrs({ x: b.x + b.width / 2, y: b.y + b.height / 2, radiusX: Math.max(0, b.width / 2 - inset), radiusY: Math.max(0, b.height / 2 - inset) });
    }
    ctx.redraw();
  }

  up(_e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging') return;
    this.finish(ctx);
    const target = requireTarget(ctx);
    if (!target || this.box.width < 1 || this.box.height < 1) return;
    const { shape, shapeFilled, size } = ctx.settings;
    const style = paintStyle(target.layer, ctx.settings);
    const b = this.box;
    ctx.begin(shape === 'rect' ? 'Rectangle' : 'Ellipse');
    ctx.paint(target.rasterId, { x: Math.floor(b.x) - 2, y: Math.floor(b.y) - 2, width: Math.ceil(b.width) + 4, height: Math.ceil(b.height) + 4 }, (g) =>
      drawShape(g, shape, b, shapeFilled, size, style),
    );
    ctx.commit();
  }

  cancel(ctx: ToolContext): void {
    if (this.state === 'dragging') this.finish(ctx);
  }

  private finish(ctx: ToolContext): void {
    this.state = 'idle';
    this.preview = null;
    ctx.clearOverlay();
    ctx.redraw();
  }
}
