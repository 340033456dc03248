// Brush and eraser: idle -> drawing on pointerdown, dabs stamped into the active layer's raster on every
// move (coalesced samples included, so fast strokes stay smooth), one undo step on pointerup, back to the
// state before the stroke on Escape or pointercancel. Shift-click draws a straight segment from the end of
// the previous stroke, as in most painting apps.
import { dabBounds, DabSpacer, pressureSize, stampDabs, type BrushDab } from '../brush-stamp.ts';
import { paintStyle } from '../paint-style.ts';
import type { Point } from '../viewport.ts';
import { requireTarget, type Tool, type ToolContext, type ToolPointer } from './tool.ts';

export class BrushTool implements Tool {
  readonly id: 'brush' | 'eraser';
  readonly cursor = 'none'; // the canvas draws the brush outline instead
  state: 'idle' | 'drawing' = 'idle';

  private spacer = new DabSpacer();
  private rasterId = '';
  private layerId = '';
  private lastEnd: { layerId: string; p: Point } | null = null;

  constructor(mode: 'brush' | 'eraser') {
    this.id = mode;
  }

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0) return;
    const target = requireTarget(ctx);
    if (!target) return;
    this.rasterId = target.rasterId;
    this.layerId = target.layer.id;
    ctx.begin(this.id === 'eraser' ? 'Erase' : 'Brush stroke');
    this.state = 'drawing';
    this.spacer = new DabSpacer();
    if (e.shift && this.lastEnd && this.lastEnd.layerId === this.layerId) this.spacer.to(this.lastEnd.p, ctx.settings.size);
    this.paint(e, ctx);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state === 'drawing') this.paint(e, ctx);
  }

  up(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'drawing') return;
    this.state = 'idle';
    this.lastEnd = { layerId: this.layerId, p: e.doc };
    ctx.commit();
  }

  cancel(ctx: ToolContext): void {
    if (this.state !== 'drawing') return;
    this.state = 'idle';
    ctx.bail();
  }

  private paint(e: ToolPointer, ctx: ToolContext): void {
    const layer = ctx.active;
    if (!layer || layer.id !== this.layerId) return this.cancel(ctx); // the layer went away mid-stroke
    const { settings } = ctx;
    const dabs: BrushDab[] = [];
    for (const s of e.samples) {
      dabs.push(...this.spacer.to(s.doc, pressureSize(settings.size, s.pressure, e.pointerType, settings.pressure)));
    }
    if (dabs.length === 0) return;
    const style = paintStyle(layer, settings, this.id === 'eraser');
    ctx.paint(this.rasterId, dabBounds(dabs), (g) => stampDabs(g, dabs, style, settings.hardness));
  }
}
