// Gradient: drag from a start point to an end point; linear or radial (from the start as centre). On depth
// layers it runs from the chosen grey (near = light) to black (far), the usual way to lay a floor or a sky
// into a depth hint; on other layers from the colour to transparent. Preview line on the overlay while
// dragging, painted on pointerup as one undo step.
import Konva from 'konva';
import { withAlpha } from '../brush-stamp.ts';
import { paintColor } from '../paint-style.ts';
import type { Point } from '../viewport.ts';
import { requireTarget, type Tool, type ToolContext, type ToolPointer } from './tool.ts';
import { snapAngle } from './line.ts';

export class GradientTool implements Tool {
  readonly id = 'gradient' as const;
  readonly cursor = 'crosshair';
  state: 'idle' | 'dragging' = 'idle';
  private from: Point = { x: 0, y: 0 };
  private to: Point = { x: 0, y: 0 };
  private guide: Konva.Arrow | null = null;

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0 || !requireTarget(ctx)) return;
    this.state = 'dragging';
    this.from = e.doc;
    this.to = e.doc;
    const s = 1 / ctx.viewport.scale;
    this.guide = new Konva.Arrow({
      points: [e.doc.x, e.doc.y, e.doc.x, e.doc.y],
      stroke: '#ffffff',
      fill: '#ffffff',
      strokeWidth: 1.5 * s,
      pointerLength: 10 * s,
      pointerWidth: 8 * s,
      shadowColor: '#000',
      shadowBlur: 3 * s,
      listening: false,
    });
    ctx.overlay.add(this.guide);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging' || !this.guide) return;
    this.to = e.shift ? snapAngle(this.from, e.doc, 45) : e.doc;
    this.guide.points([this.from.x, this.from.y, this.to.x, this.to.y]);
    ctx.redraw();
  }

  up(_e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'dragging') return;
    this.finish(ctx);
    const target = requireTarget(ctx);
    const len = Math.hypot(this.to.x - this.from.x, this.to.y - this.from.y);
    if (!target || len < 2) return;
    const { layer, width, height } = target;
    const isDepth = layer.type === 'hint' && layer.hint === 'depth';
    const near = paintColor(layer, ctx.settings);
    const far = isDepth ? '#000000' : withAlpha(near, 0);
    const { from, to } = this;
    const linear = ctx.settings.gradient === 'linear';
    ctx.begin('Gradient');
    ctx.paint(target.rasterId, { x: 0, y: 0, width, height }, (g) => {
      const grad = linear ? g.createLinearGradient(from.x, from.y, to.x, to.y) : g.createRadialGradient(from.x, from.y, 0, from.x, from.y, len);
      grad.addColorStop(0, near);
      grad.addColorStop(1, far);
      g.save();
      g.fillStyle = grad;
      g.fillRect(0, 0, width, height);
      g.restore();
    });
    ctx.commit();
  }

  cancel(ctx: ToolContext): void {
    if (this.state === 'dragging') this.finish(ctx);
  }

  private finish(ctx: ToolContext): void {
    this.state = 'idle';
    this.guide = null;
    ctx.clearOverlay();
    ctx.redraw();
  }
}
