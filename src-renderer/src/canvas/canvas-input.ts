// Pointer and wheel input of the canvas, routed to the tools. A gesture belongs to the tool that received its
// pointerdown until pointerup (the middle button and a held Space give it to the hand, Alt with a painting
// tool to the picker), so switching tools mid-stroke cannot leave a gesture half open. pointercancel and
// Escape cancel the gesture (the tool bails back to its undo mark).
import type { CanvasPort } from './canvas-port.ts';
import type { CanvasStage } from './canvas-stage.svelte.ts';
import type { ToolSettings } from './tool-settings.svelte.ts';
import { BrushTool } from './tools/brush.ts';
import { FillTool } from './tools/fill.ts';
import { GradientTool } from './tools/gradient.ts';
import { HandTool } from './tools/hand.ts';
import { LineTool } from './tools/line.ts';
import { MoveTool } from './tools/move.ts';
import { PickerTool } from './tools/picker.ts';
import { PoseTool } from './tools/pose.ts';
import { ShapeTool } from './tools/shape.ts';
import type { Ctx2D, PaintTarget, Tool, ToolContext, ToolId, ToolPointer } from './tools/tool.ts';
import { isPaintable } from './paint-style.ts';
import { wheelPixels, wheelZoomFactor, zoomAt, panBy } from './viewport.ts';

export class CanvasInput {
  readonly tools: Record<ToolId, Tool> = {
    brush: new BrushTool('brush'),
    eraser: new BrushTool('eraser'),
    fill: new FillTool(),
    line: new LineTool(),
    shape: new ShapeTool(),
    gradient: new GradientTool(),
    move: new MoveTool(),
    picker: new PickerTool(),
    pose: new PoseTool(),
    hand: new HandTool(),
  };
  /** The tool that owns the gesture in progress, and its pointer. */
  private gesture: { tool: Tool; pointerId: number } | null = null;
  private readonly ctx: ToolContext;
  private readonly offs: (() => void)[] = [];
  private hover = false;

  constructor(
    private readonly el: HTMLElement,
    private readonly stage: CanvasStage,
    private readonly port: CanvasPort,
    private readonly settings: ToolSettings,
    say: (text: string) => void,
  ) {
    this.ctx = this.context(say);
    const on = <K extends keyof HTMLElementEventMap>(type: K, fn: (e: HTMLElementEventMap[K]) => void, opts?: AddEventListenerOptions) => {
      el.addEventListener(type, fn as EventListener, opts);
      this.offs.push(() => el.removeEventListener(type, fn as EventListener, opts));
    };
    on('pointerdown', (e) => this.down(e));
    on('pointermove', (e) => this.move(e));
    on('pointerup', (e) => this.up(e));
    on('pointercancel', (e) => e.pointerId === this.gesture?.pointerId && this.cancel());
    on('pointerleave', () => {
      this.hover = false;
      this.updateOutline(null);
    });
    on('pointerenter', () => (this.hover = true));
    on('wheel', (e) => this.wheel(e), { passive: false });
    on('contextmenu', (e) => e.preventDefault());
  }

  destroy(): void {
    this.cancel();
    this.offs.forEach((off) => off());
  }

  get busy(): boolean {
    return this.gesture !== null;
  }

  /** The tool the settings select (the one shown in the toolbar). */
  get current(): Tool {
    return this.tools[this.settings.tool];
  }

  get cursor(): string {
    return (this.gesture?.tool ?? this.current).cursor;
  }

  /** Escape, pointercancel, a view switch: abandon the gesture in progress. */
  cancel(): void {
    if (!this.gesture) return;
    const { tool } = this.gesture;
    this.gesture = null;
    tool.cancel(this.ctx);
  }

  /** The tool or the active layer changed: let the tool show its handles (or clear the last tool's). */
  enterTool(): void {
    this.stage.clearToolOverlay();
    this.current.enter?.(this.ctx);
    this.refreshCursor();
  }

  /** The host's cursor: the gesture's tool, the held hand, or the selected tool. */
  refreshCursor(): void {
    const tool = this.gesture?.tool ?? (this.settings.previous !== null ? this.tools.hand : this.current);
    const cursor = tool.cursor;
    if (this.el.style.cursor !== cursor) this.el.style.cursor = cursor;
  }

  private pointer(e: PointerEvent): ToolPointer {
    const box = this.el.getBoundingClientRect();
    const events = e.type === 'pointermove' && typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const list = events.length > 0 ? events : [e];
    const screen = { x: e.clientX - box.left, y: e.clientY - box.top };
    return {
      doc: this.stage.toDoc(screen),
      screen,
      pressure: e.pressure,
      pointerType: e.pointerType,
      shift: e.shiftKey,
      alt: e.altKey,
      mod: e.ctrlKey || e.metaKey,
      button: e.button,
      samples: list.map((c) => ({ doc: this.stage.toDoc({ x: c.clientX - box.left, y: c.clientY - box.top }), pressure: c.pressure })),
    };
  }

  private down(e: PointerEvent): void {
    if (this.gesture) return; // a second finger or button while drawing
    this.el.focus({ preventScroll: true });
    let tool = this.current;
    if (e.button === 1 || this.settings.previous !== null) tool = this.tools.hand;
    else if (e.altKey && ['brush', 'eraser', 'fill'].includes(tool.id)) tool = this.tools.picker;
    else if (e.button !== 0) return;
    e.preventDefault();
    this.el.setPointerCapture(e.pointerId);
    this.gesture = { tool, pointerId: e.pointerId };
    const p = this.pointer(e);
    tool.down(p.button === 1 ? { ...p, button: 0 } : p, this.ctx);
    if (tool.state === 'idle') this.gesture = null; // a click tool (fill) or a refused gesture
    this.refreshCursor();
  }

  private move(e: PointerEvent): void {
    const p = this.pointer(e);
    if (this.gesture && e.pointerId === this.gesture.pointerId) this.gesture.tool.move(p, this.ctx);
    this.updateOutline(p);
    this.refreshCursor();
  }

  private up(e: PointerEvent): void {
    if (!this.gesture || e.pointerId !== this.gesture.pointerId) return;
    const { tool } = this.gesture;
    this.gesture = null;
    tool.up(this.pointer(e), this.ctx);
    if (this.el.hasPointerCapture(e.pointerId)) this.el.releasePointerCapture(e.pointerId);
    this.refreshCursor();
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const box = this.el.getBoundingClientRect();
    const at = { x: e.clientX - box.left, y: e.clientY - box.top };
    const dy = wheelPixels(e.deltaY, e.deltaMode);
    const dx = wheelPixels(e.deltaX, e.deltaMode);
    if (e.shiftKey && !e.ctrlKey) this.stage.setViewport(panBy(this.stage.viewport, -(dx || dy), 0));
    else this.stage.setViewport(zoomAt(this.stage.viewport, at, wheelZoomFactor(dy)));
  }

  /** The brush outline follows the pointer for tools that paint with the brush size. */
  updateOutline(p: ToolPointer | null): void {
    const tool = this.gesture?.tool ?? this.current;
    const brushy = tool.id === 'brush' || tool.id === 'eraser';
    this.stage.showBrushOutline(p && this.hover && brushy && this.settings.previous === null ? p.doc : null, this.settings.size);
  }

  private context(say: (text: string) => void): ToolContext {
    const { stage, port, settings } = this;
    return {
      get doc() {
        return port.doc;
      },
      get active() {
        return port.active;
      },
      settings,
      get viewport() {
        return stage.viewport;
      },
      paintTarget(): PaintTarget {
        const layer = port.active;
        if (!layer) return { ok: false, reason: 'Select a layer to paint on' };
        if (!layer.visible) return { ok: false, reason: `${layer.name} is hidden: show it to paint on it` };
        if (layer.locked) return { ok: false, reason: `${layer.name} is locked` };
        if (!isPaintable(layer)) {
          return { ok: false, reason: layer.type === 'hint' && layer.hint === 'pose' ? 'Pose layers are edited with the pose tool (P)' : 'Canny hints are computed from their image layer' };
        }
        const source = port.source(layer.rasterId);
        const context = source?.getContext('2d', { willReadFrequently: true }) as Ctx2D | null | undefined;
        if (!source || !context) return { ok: false, reason: `${layer.name} has no pixels yet` };
        return { ok: true, layer, rasterId: layer.rasterId, width: source.width, height: source.height, context };
      },
      begin: (label) => port.begin(label),
      paint: (rasterId, rect, draw) => port.paint(rasterId, rect, draw),
      commit: () => port.commit(),
      bail: () => port.bail(),
      updateLayer: (id, patch, label) => port.updateLayer(id, patch, label),
      overlay: stage.toolOverlay,
      clearOverlay: () => stage.clearToolOverlay(),
      sampleColor: (p) => stage.sampleColor(p),
      setViewport: (v) => stage.setViewport(v),
      say,
      redraw: () => stage.redrawOverlay(),
    };
  }
}
