// Paint bucket: one click fills the region of similar colour around the point on the active layer (not the
// composite, so a hint layer's regions are its own). Idle -> idle in one click; the fill is its own undo step.
// Scanline flood fill over the raster's pixels; the comparison includes alpha, so an empty layer fills whole.
import { paintStyle } from '../paint-style.ts';
import type { Rect } from '../viewport.ts';
import { requireTarget, type Tool, type ToolContext, type ToolPointer } from './tool.ts';

export class FillTool implements Tool {
  readonly id = 'fill' as const;
  readonly cursor = 'crosshair';
  readonly state = 'idle';

  down(e: ToolPointer, ctx: ToolContext): void {
    if (e.button !== 0) return;
    const target = requireTarget(ctx);
    if (!target) return;
    const { layer, width, height, context } = target;
    const x = Math.floor(e.doc.x);
    const y = Math.floor(e.doc.y);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const color = parseHex(paintStyle(layer, ctx.settings).color);
    const image = context.getImageData(0, 0, width, height);
    const rect = floodFill(image, x, y, color, ctx.settings.tolerance);
    if (!rect) return;
    ctx.begin('Fill');
    ctx.paint(target.rasterId, rect, (g) => g.putImageData(image, 0, 0, rect.x, rect.y, rect.width, rect.height));
    ctx.commit();
  }

  move(): void {}
  up(): void {}
  cancel(): void {}
}

export function parseHex(color: string): [number, number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return [0, 0, 0, 255];
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16), 255];
}

/**
 * Fills the 4-connected region around (sx, sy) whose pixels are within `tolerance` of the seed pixel on
 * every channel; returns the changed rectangle, or null when the seed already has the colour.
 */
export function floodFill(
  image: { data: Uint8ClampedArray; width: number; height: number },
  sx: number,
  sy: number,
  color: readonly [number, number, number, number],
  tolerance: number,
): Rect | null {
  const { data, width, height } = image;
  const seed = (sy * width + sx) * 4;
  const s = [data[seed], data[seed + 1], data[seed + 2], data[seed + 3]];
  if (s[0] === color[0] && s[1] === color[1] && s[2] === color[2] && s[3] === color[3]) return null;
  const matches = (i: number) => {
    const o = i * 4;
    // Fully transparent pixels match each other whatever colour they carry.
    if (s[3] === 0 && data[o + 3] <= tolerance) return true;
    return (
      Math.abs(data[o] - s[0]) <= tolerance &&
      Math.abs(data[o + 1] - s[1]) <= tolerance &&
      Math.abs(data[o + 2] - s[2]) <= tolerance &&
      Math.abs(data[o + 3] - s[3]) <= tolerance
    );
  };
  const done = new Uint8Array(width * height);
  const stack: number[] = [sx, sy];
  let x0 = sx;
  let x1 = sx;
  let y0 = sy;
  let y1 = sy;
  while (stack.length > 0) {
    const y = stack.pop()!;
    let x = stack.pop()!;
    while (x > 0 && !done[y * width + x - 1] && matches(y * width + x - 1)) x--;
    let up = false;
    let down = false;
    for (; x < width; x++) {
      const i = y * width + x;
      if (done[i] || !matches(i)) break;
      done[i] = 1;
      const o = i * 4;
      data[o] = color[0];
      data[o + 1] = color[1];
      data[o + 2] = color[2];
      data[o + 3] = color[3];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (y > 0) {
        const a = i - width;
        const m = !done[a] && matches(a);
        if (m && !up) stack.push(x, y - 1);
        up = m;
      }
      if (y < height - 1) {
        const b = i + width;
        const m = !done[b] && matches(b);
        if (m && !down) stack.push(x, y + 1);
        down = m;
      }
    }
  }
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}
