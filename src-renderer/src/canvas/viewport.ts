// Where the document sits on screen: a scale and an offset (screen = doc * scale + offset). Zoom keeps the
// point under the cursor still, as painters expect from the wheel; fit centres the page with a margin.
// Pure: no DOM, so the arithmetic is unit-tested under node.

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ViewportState {
  scale: number;
  x: number; // screen position of the document's top-left corner
  y: number;
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 32;
/** Zoom steps the +/- keys and the zoom menu walk through. */
export const ZOOM_STEPS = [0.05, 0.1, 0.125, 0.25, 0.333, 0.5, 0.667, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32];

export function clampZoom(scale: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, scale));
}

export function toDoc(v: ViewportState, screen: Point): Point {
  return { x: (screen.x - v.x) / v.scale, y: (screen.y - v.y) / v.scale };
}

export function toScreen(v: ViewportState, doc: Point): Point {
  return { x: doc.x * v.scale + v.x, y: doc.y * v.scale + v.y };
}

/** Scales by `factor` around the screen point `at`, which stays over the same document pixel. */
export function zoomAt(v: ViewportState, at: Point, factor: number): ViewportState {
  const scale = clampZoom(v.scale * factor);
  const k = scale / v.scale;
  return { scale, x: at.x - (at.x - v.x) * k, y: at.y - (at.y - v.y) * k };
}

/** Sets an absolute scale around the screen point `at`. */
export function zoomTo(v: ViewportState, at: Point, scale: number): ViewportState {
  return zoomAt(v, at, clampZoom(scale) / v.scale);
}

/** The next zoom step up (dir 1) or down (dir -1) from the current scale. */
export function stepZoom(scale: number, dir: 1 | -1): number {
  if (dir > 0) return ZOOM_STEPS.find((s) => s > scale * 1.001) ?? MAX_ZOOM;
  return [...ZOOM_STEPS].reverse().find((s) => s < scale * 0.999) ?? MIN_ZOOM;
}

export interface Insets {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * Centres a document of `doc` size in a view of `view` size, leaving `margin` screen pixels around it (a
 * number for every side, or insets that keep the page clear of floating palettes).
 */
export function fit(view: { width: number; height: number }, doc: { width: number; height: number }, margin: number | Insets = 32): ViewportState {
  const m = typeof margin === 'number' ? { left: margin, right: margin, top: margin, bottom: margin } : margin;
  const availW = Math.max(1, view.width - m.left - m.right);
  const availH = Math.max(1, view.height - m.top - m.bottom);
  const scale = clampZoom(Math.min(availW / doc.width, availH / doc.height));
  return {
    scale,
    x: Math.round(m.left + (availW - doc.width * scale) / 2),
    y: Math.round(m.top + (availH - doc.height * scale) / 2),
  };
}

export function panBy(v: ViewportState, dx: number, dy: number): ViewportState {
  return { ...v, x: v.x + dx, y: v.y + dy };
}

/** Wheel deltas in pixels whatever the event's unit (lines on some mice, pages rarely). */
export function wheelPixels(deltaY: number, deltaMode: number): number {
  return deltaMode === 1 ? deltaY * 16 : deltaMode === 2 ? deltaY * 400 : deltaY;
}

/** Zoom factor for a wheel movement: smooth for trackpads, one notch ~ 10% for mice. */
export function wheelZoomFactor(pixels: number): number {
  return Math.exp(-Math.max(-200, Math.min(200, pixels)) * 0.0015);
}

/** Bounding box of points, grown by `pad` on every side and rounded out to whole pixels. */
export function boundsOf(points: readonly Point[], pad = 0): Rect {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    x0 = Math.min(x0, p.x);
    y0 = Math.min(y0, p.y);
    x1 = Math.max(x1, p.x);
    y1 = Math.max(y1, p.y);
  }
  if (!Number.isFinite(x0)) return { x: 0, y: 0, width: 0, height: 0 };
  const x = Math.floor(x0 - pad);
  const y = Math.floor(y0 - pad);
  return { x, y, width: Math.ceil(x1 + pad) - x, height: Math.ceil(y1 + pad) - y };
}

export function unionRect(a: Rect | null, b: Rect): Rect {
  if (!a || a.width <= 0 || a.height <= 0) return b;
  if (b.width <= 0 || b.height <= 0) return a;
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** `r` cut to the rectangle 0,0..width,height; width/height 0 when nothing is left. */
export function clipRect(r: Rect, width: number, height: number): Rect {
  const x = Math.max(0, r.x);
  const y = Math.max(0, r.y);
  return { x, y, width: Math.max(0, Math.min(width, r.x + r.width) - x), height: Math.max(0, Math.min(height, r.y + r.height) - y) };
}

/** "100%", "33.3%", "1600%". */
export function zoomLabel(scale: number): string {
  const pct = scale * 100;
  return `${pct >= 10 ? Math.round(pct) : pct.toFixed(1)}%`;
}
