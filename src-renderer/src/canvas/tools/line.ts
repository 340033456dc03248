// Straight line: idle -> dragging on pointerdown, a preview on the overlay while dragging, the line stamped
// with the current brush on pointerup (one undo step). Shift snaps the angle to 15° steps.
import Konva from 'konva';
import { dabBounds, DabSpacer, stampDabs } from '../brush-stamp.ts';
import { paintStyle } from '../paint-style.ts';
import type { Point } from '../viewport.ts';
import { requireTarget, type Tool, type ToolContext, type ToolPointer } from './tool.ts';

export function snapAngle(from: Point, to: Point, stepDeg = 15): Point {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const len = Math.hypot(dx, dy);
  const step = (stepDeg * Math.PI) / 180;
  const a = Math.round(Math.atan2(dy, dx) / step) * step;
  return { x: from.x + Math.cos(a) * len, y: from.y + Math.sin(a) * len };
}

export class LineTool implements Tool {
  readonly id = 'line' as const;
  readonly cursor = 'crosshair';
  state: 'idle' | 'dragging' = 'idle';
  private from: Point = { x: 0, y: 0 };
  private to: Point = { x: 0, y: 0 };
  private preview: Konva.Line | null = null;

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0) return;
    if (!requireTarget(ctx)) return;
    this.state = 'dragging';
    this.from = e.doc;
    this.to = e.doc;
    const layer = ctx.active!;
    this.preview = new Konva.Line({
      points: [e.doc.x, e.doc.y, e.doc.x, e.doc.y],
      stroke: paintStyle(layer, ctx.settings).color,
      strokeWidth: ctx.settings.size,
      lineCap: 'round',
      opacity: 0.8,
      listening: false,
    });
    ctx.overlay.add(this.preview);
    ctx.redraw();
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging' || !this.preview) return;
    this.to = e.shift ? snapAngle(this.from, e.doc) : e.doc;
    this.preview.points([this.from.x, this.from.y, this.to.x, this.to.y]);
    ctx.redraw();
  }

  up(_e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging') return;
    this.finish(ctx);
    const target = requireTarget(ctx);
    if (!target) return;
    ctx.begin('Line');
    const spacer = new DabSpacer();
    const dabs = [...spacer.to(this.from, ctx.settings.size), ...spacer.to(this.to, ctx.settings.size)];
    const style = paintStyle(target.layer, ctx.settings);
    ctx.paint(target.rasterId, dabBounds(dabs), (g) => stampDabs(g, dabs, style, ctx.settings.hardness));
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
