// Move / transform: a box around the active layer's content with eight handles. Drag inside to move
// (Shift locks to an axis), drag a handle to scale (corners keep the aspect ratio unless Alt is held).
// idle -> moving | scaling -> idle. The content is lifted into a floating copy on pointerdown, redrawn
// at its new place on every move, and the whole gesture is one undo step. Pose layers move their skeletons.
import Konva from 'konva';
import type { PosePerson } from '../../../../src-main/common/document/model.ts';
import type { Point, Rect } from '../viewport.ts';
import type { Tool, ToolContext, ToolPointer } from './tool.ts';
import { requireTarget } from './tool.ts';
import { contentBounds, poseBounds } from '../content-bounds.ts';

type Handle = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
const HANDLES: Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

function handlePoint(b: Rect, h: Handle): Point {
  const x = h.includes('w') ? b.x : h.includes('e') ? b.x + b.width : b.x + b.width / 2;
  const y = h.startsWith('n') ? b.y : h.startsWith('s') ? b.y + b.height : b.y + b.height / 2;
  return { x, y };
}

/** The box after dragging handle `h` by (dx, dy); corners keep the ratio unless `free`. */
export function scaleBox(b: Rect, h: Handle, dx: number, dy: number, free: boolean): Rect {
  let x0 = b.x;
  let y0 = b.y;
  let x1 = b.x + b.width;
  let y1 = b.y + b.height;
  if (h.includes('w')) x0 += dx;
  if (h.includes('e')) x1 += dx;
  if (h.startsWith('n')) y0 += dy;
  if (h.startsWith('s')) y1 += dy;
  if (!free && h.length === 2 && b.width > 0 && b.height > 0) {
    const k = Math.max(Math.abs(x1 - x0) / b.width, Math.abs(y1 - y0) / b.height);
    const w = b.width * k;
    const hh = b.height * k;
    if (h.includes('w')) x0 = x1 - w;
    else x1 = x0 + w;
    if (h.startsWith('n')) y0 = y1 - hh;
    else y1 = y0 + hh;
  }
  return { x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.max(1, Math.abs(x1 - x0)), height: Math.max(1, Math.abs(y1 - y0)) };
}

export class MoveTool implements Tool {
  readonly id = 'move' as const;
  state: 'idle' | 'moving' | 'scaling' = 'idle';
  private handle: Handle | null = null;
  private start: Point = { x: 0, y: 0 };
  private from: Rect = { x: 0, y: 0, width: 0, height: 0 };
  private box: Rect = { x: 0, y: 0, width: 0, height: 0 };
  private floating: HTMLCanvasElement | null = null;
  private people: PosePerson[] | null = null;
  private rasterId = '';
  private page = { width: 0, height: 0 };

  get cursor(): string {
    return this.state === 'moving' ? 'grabbing' : 'move';
  }

  /** Shows the box and its handles for the active layer (called when the tool or the layer changes). */
  enter(ctx: ToolContext): void {
    ctx.clearOverlay();
    const b = this.bounds(ctx);
    if (b) this.drawBox(ctx, b);
    ctx.redraw();
  }

  down(e: ToolPointer, ctx: ToolContext): void {
    if (this.state !== 'idle' || e.button !== 0) return;
    const layer = ctx.active;
    if (!layer) return;
    if (layer.locked) return ctx.say(`${layer.name} is locked`);
    const b = this.bounds(ctx);
    if (!b) return ctx.say('Nothing to move on this layer');
    const grab = 8 / ctx.viewport.scale;
    this.handle = HANDLES.find((h) => {
      const p = handlePoint(b, h);
      return Math.abs(p.x - e.doc.x) <= grab && Math.abs(p.y - e.doc.y) <= grab;
    }) ?? null;
    this.state = this.handle ? 'scaling' : 'moving';
    this.start = e.doc;
    this.from = b;
    this.box = b;
    ctx.begin(this.handle ? 'Transform layer' : 'Move layer');
    if (layer.type === 'hint' && layer.hint === 'pose') {
      this.people = JSON.parse(JSON.stringify(layer.people)) as PosePerson[]; // plain copy of the store's records
      return;
    }
    const target = requireTarget(ctx);
    if (!target) return this.cancel(ctx);
    this.rasterId = target.rasterId;
    this.page = { width: target.width, height: target.height };
    this.floating = document.createElement('canvas');
    this.floating.width = b.width;
    this.floating.height = b.height;
    this.floating.getContext('2d')!.putImageData(target.context.getImageData(b.x, b.y, b.width, b.height), 0, 0);
  }

  move(e: ToolPointer, ctx: ToolContext): void {
    if (this.state === 'idle') return;
    let dx = e.doc.x - this.start.x;
    let dy = e.doc.y - this.start.y;
    if (this.state === 'moving') {
      if (e.shift) Math.abs(dx) > Math.abs(dy) ? (dy = 0) : (dx = 0);
      this.box = { ...this.from, x: Math.round(this.from.x + dx), y: Math.round(this.from.y + dy) };
    } else {
      this.box = scaleBox(this.from, this.handle!, dx, dy, e.alt);
    }
    this.apply(ctx);
  }

  up(_e: ToolPointer, ctx: ToolContext): void {
    if (this.state === 'idle') return;
    this.reset();
    ctx.commit();
    this.enter(ctx);
  }

  cancel(ctx: ToolContext): void {
    if (this.state === 'idle') return;
    this.reset();
    ctx.bail();
    this.enter(ctx);
  }

  private apply(ctx: ToolContext): void {
    const layer = ctx.active;
    if (!layer) return;
    const { from, box } = this;
    if (this.people) {
      const sx = box.width / from.width;
      const sy = box.height / from.height;
      const people = this.people.map((p) => ({
        ...p,
        keypoints: p.keypoints.map((k) => ({ ...k, x: box.x + (k.x - from.x) * sx, y: box.y + (k.y - from.y) * sy })),
      }));
      ctx.updateLayer(layer.id, { people }, 'Move pose');
    } else if (this.floating) {
      const floating = this.floating;
      const { width, height } = this.page;
      const smooth = !(layer.type === 'hint' && layer.hint === 'segmentation');
      ctx.paint(this.rasterId, { x: 0, y: 0, width, height }, (g) => {
        g.save();
        g.clearRect(0, 0, width, height);
        g.imageSmoothingEnabled = smooth;
        g.drawImage(floating, box.x, box.y, box.width, box.height);
        g.restore();
      });
    }
    ctx.clearOverlay();
    this.drawBox(ctx, box);
    ctx.redraw();
  }

  private bounds(ctx: ToolContext): Rect | null {
    const layer = ctx.active;
    if (!layer) return null;
    if (layer.type === 'hint' && layer.hint === 'pose') return poseBounds(layer.people);
    const t = ctx.paintTarget();
    return t.ok ? contentBounds(t.context, t.width, t.height) : null;
  }

  private drawBox(ctx: ToolContext, b: Rect): void {
    const s = 1 / ctx.viewport.scale;
    ctx.overlay.add(new Konva.Rect({ ...b, stroke: '#7aa2ff', strokeWidth: 1.5 * s, dash: [6 * s, 4 * s], listening: false }));
    for (const h of HANDLES) {
      const p = handlePoint(b, h);
      ctx.overlay.add(
        new Konva.Rect({ x: p.x - 4 * s, y: p.y - 4 * s, width: 8 * s, height: 8 * s, fill: '#fff', stroke: '#5b87f5', strokeWidth: s, listening: false }),
      );
    }
  }

  private reset(): void {
    this.state = 'idle';
    this.handle = null;
    this.floating = null;
    this.people = null;
  }
}
