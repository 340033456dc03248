// The part of a layer that holds something: the box around non-transparent pixels of a raster, or around
// the visible joints of pose skeletons. Used by the move/transform box.
import type { PosePerson } from '../../../src-main/common/document/model.ts';
import type { Rect } from './viewport.ts';
import { boundsOf } from './viewport.ts';
import type { Ctx2D } from './tools/tool.ts';

/** Box around pixels with alpha > 0; null for an empty raster. */
export function contentBounds(g: Ctx2D, width: number, height: number): Rect | null {
  return alphaBounds(g.getImageData(0, 0, width, height).data, width, height);
}

export function alphaBounds(data: Uint8ClampedArray, width: number, height: number): Rect | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * 4;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (data[row + x * 4 + 3] !== 0) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    let last = first;
    for (let x = width - 1; x > first; x--) {
      if (data[row + x * 4 + 3] !== 0) {
        last = x;
        break;
      }
    }
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
    if (y < y0) y0 = y;
    y1 = y;
  }
  if (x1 < 0) return null;
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Box around the visible joints of every person, with room for the joint dots. */
export function poseBounds(people: readonly PosePerson[]): Rect | null {
  const points = people.flatMap((p) => p.keypoints.filter((k) => k.visible));
  if (points.length === 0) return null;
  return boundsOf(points, 8);
}
