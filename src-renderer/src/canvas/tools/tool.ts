// What every canvas tool is and what the canvas lends it. A tool is a small state machine (idle -> pointing ->
// drawing) fed pointer events in document coordinates; it never touches Konva's scene or the document store
// directly, only the ToolContext below, so each tool stays one short file that reads like its gesture.
//
// Gestures and undo: a tool that edits calls `begin` on pointerdown (the store's mark), `paint` for every
// pixel rectangle it changes (the store keeps the rectangle's pixels before and after), and `commit` on
// pointerup (one undo step) or `bail` on Escape/pointercancel (back to the mark, pixels included).
import type Konva from 'konva';
import type { DocumentRecord, Layer } from '../../../../src-main/common/document/model.ts';
import type { LayerPatch } from '../../document/store.ts';
import type { Point, Rect, ViewportState } from '../viewport.ts';
import type { ToolId, ToolSettings } from '../tool-settings.svelte.ts';

export type { ToolId };

export interface ToolPointer {
  doc: Point;
  screen: Point;
  /** 0..1; 0.5 for devices without pressure (mouse), as the Pointer Events spec reports. */
  pressure: number;
  pointerType: string;
  shift: boolean;
  alt: boolean;
  mod: boolean; // Ctrl or Cmd
  button: number;
  /** Coalesced samples since the previous event (for smooth fast strokes); includes this one last. */
  samples: { doc: Point; pressure: number }[];
}

/** A raster's 2D context: rasters are OffscreenCanvases in the app, tips and scratch canvases are not. */
export type Ctx2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** Where painting goes: the active layer and its raster, or why there is none. */
export type PaintTarget =
  | { ok: true; layer: Layer; rasterId: string; width: number; height: number; context: Ctx2D }
  | { ok: false; reason: string };

export interface ToolContext {
  readonly doc: DocumentRecord;
  readonly active: Layer | null;
  readonly settings: ToolSettings;
  readonly viewport: ViewportState;
  /** The active layer's raster when it can be painted (visible, unlocked, a raster kind). */
  paintTarget(): PaintTarget;
  /** Starts a gesture (undo mark). */
  begin(label: string): void;
  /** Changes pixels of a raster inside `rect` (document pixels) with `draw`: kept for undo, redrawn. */
  paint(rasterId: string, rect: Rect, draw: (g: Ctx2D) => void): void;
  commit(): void;
  bail(): void;
  /** Record edits (pose joints, layer offsets) inside the current gesture. */
  updateLayer(id: string, patch: LayerPatch, label?: string): void;
  /** Preview shapes for the gesture in progress, in document coordinates; cleared by `clearOverlay`. */
  readonly overlay: Konva.Group;
  clearOverlay(): void;
  /** Colour of the composited document under a point, as #rrggbb (null off the page). */
  sampleColor(p: Point): string | null;
  setViewport(v: ViewportState): void;
  /** A short message in the canvas's status line (why a stroke did nothing, what a tool does). */
  say(text: string): void;
  redraw(): void;
}

export interface Tool {
  readonly id: ToolId;
  /** CSS cursor while the tool is active and idle over the page. */
  readonly cursor: string;
  /** 'idle' between gestures; tools name their other states. */
  readonly state: string;
  down(e: ToolPointer, ctx: ToolContext): void;
  move(e: ToolPointer, ctx: ToolContext): void;
  up(e: ToolPointer, ctx: ToolContext): void;
  /** Escape or pointercancel: abandon the gesture, leaving the document as it was before it. */
  cancel(ctx: ToolContext): void;
  /** The tool was picked or the active layer changed: show persistent handles (the transform box). */
  enter?(ctx: ToolContext): void;
}

/** Refuses a gesture on a target that cannot be painted, saying why. */
export function requireTarget(ctx: ToolContext): (PaintTarget & { ok: true }) | null {
  const t = ctx.paintTarget();
  if (!t.ok) {
    ctx.say(t.reason);
    return null;
  }
  return t;
}
