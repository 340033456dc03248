// Round brush dabs stamped along a path, the way painting apps draw strokes: a tip image (hard core, soft rim
// by hardness) drawn every few pixels, sized by pressure. Aliased tips (segmentation classes, whose exact
// palette colours the model reads) are drawn as whole pixels with no blended rim.
import type { Point, Rect } from './viewport.ts';
import { boundsOf } from './viewport.ts';
import type { Ctx2D } from './tools/tool.ts';

export interface PaintStyle {
  color: string; // CSS colour
  /** Whole-pixel dabs with no antialiasing: colour values must stay exact (palettes). */
  aliased: boolean;
  /** 'destination-out' for the eraser. */
  composite: GlobalCompositeOperation;
}

export interface BrushDab {
  x: number;
  y: number;
  size: number; // diameter in document pixels
}

/** Cached tip images keyed by colour, size bucket, hardness and aliasing. */
const tips = new Map<string, HTMLCanvasElement>();

function tipFor(style: PaintStyle, diameter: number, hardness: number): HTMLCanvasElement {
  // Tips are drawn at a bucketed size and scaled, so pressure strokes do not create hundreds of tips.
  const px = Math.max(1, Math.ceil(diameter <= 16 ? diameter : 2 ** Math.ceil(Math.log2(diameter))));
  const hard = style.aliased ? 1 : Math.round(hardness * 20) / 20;
  const key = `${style.color}|${px}|${hard}|${style.aliased}`;
  let tip = tips.get(key);
  if (tip) return tip;
  tip = document.createElement('canvas');
  tip.width = px;
  tip.height = px;
  const g = tip.getContext('2d')!;
  const r = px / 2;
  if (style.aliased) {
    g.fillStyle = style.color;
    for (let y = 0; y < px; y++) {
      const dy = y + 0.5 - r;
      const half = Math.sqrt(Math.max(0, r * r - dy * dy));
      const x0 = Math.round(r - half);
      const x1 = Math.round(r + half);
      if (x1 > x0) g.fillRect(x0, y, x1 - x0, 1);
    }
  } else if (hard >= 0.999) {
    g.fillStyle = style.color;
    g.beginPath();
    g.arc(r, r, r, 0, Math.PI * 2);
    g.fill();
  } else {
    const grad = g.createRadialGradient(r, r, 0, r, r, r);
    grad.addColorStop(0, style.color);
    grad.addColorStop(Math.max(0, Math.min(0.99, hard)), style.color);
    grad.addColorStop(1, withAlpha(style.color, 0));
    g.fillStyle = grad;
    g.fillRect(0, 0, px, px);
  }
  if (tips.size > 64) tips.delete(tips.keys().next().value!);
  tips.set(key, tip);
  return tip;
}

/** `#rrggbb` with an alpha, for gradient stops that fade to the same hue (not to transparent black). */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return color;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}

/** The document rectangle dabs cover (rim and rounding included). */
export function dabBounds(dabs: readonly BrushDab[]): Rect {
  const maxSize = dabs.reduce((m, d) => Math.max(m, d.size), 0);
  return boundsOf(dabs, maxSize / 2 + 2);
}

export function stampDabs(g: Ctx2D, dabs: readonly BrushDab[], style: PaintStyle, hardness: number): void {
  if (dabs.length === 0) return;
  g.save();
  g.globalCompositeOperation = style.composite;
  g.imageSmoothingEnabled = !style.aliased;
  for (const d of dabs) {
    const tip = tipFor(style, d.size, hardness);
    const s = style.aliased ? Math.max(1, Math.round(d.size)) : d.size;
    const x = style.aliased ? Math.round(d.x - s / 2) : d.x - s / 2;
    const y = style.aliased ? Math.round(d.y - s / 2) : d.y - s / 2;
    g.drawImage(tip, x, y, s, s);
  }
  g.restore();
}

/**
 * Walks a stroke and emits dabs every `spacing` of the brush diameter, carrying the distance left over
 * between calls so a stroke fed one pointer event at a time spaces its dabs evenly.
 */
export class DabSpacer {
  private last: (Point & { size: number }) | null = null;
  private carry = 0;
  private readonly spacing: number;

  constructor(spacing = 0.12) {
    this.spacing = spacing;
  }

  /** Dabs for the path from the previous point to `p`; the first call emits one dab at `p`. */
  to(p: Point, size: number): BrushDab[] {
    if (!this.last) {
      this.last = { ...p, size };
      return [{ x: p.x, y: p.y, size }];
    }
    const from = this.last;
    const dx = p.x - from.x;
    const dy = p.y - from.y;
    const dist = Math.hypot(dx, dy);
    const out: BrushDab[] = [];
    let travelled = this.carry; // distance since the last dab, at the start of this segment
    let pos = 0;
    while (true) {
      const k0 = dist > 0 ? pos / dist : 1;
      const step = Math.max(0.5, (from.size + (size - from.size) * k0) * this.spacing);
      const need = step - travelled;
      if (pos + need > dist) {
        this.carry = travelled + (dist - pos);
        break;
      }
      pos += need;
      travelled = 0;
      const k = pos / dist;
      out.push({ x: from.x + dx * k, y: from.y + dy * k, size: from.size + (size - from.size) * k });
    }
    this.last = { ...p, size };
    return out;
  }
}

/** The size of a dab at a pressure: mice report 0.5 (or 0 between buttons), which means "full size". */
export function pressureSize(size: number, pressure: number, pointerType: string, usePressure: boolean): number {
  if (!usePressure || pointerType !== 'pen' || pressure <= 0) return size;
  return Math.max(1, size * (0.15 + 0.85 * pressure));
}
