// Canny edge detection as ControlNet's canny annotator runs it: cv2.Canny(image, low, high) on the RGB image,
// with OpenCV's defaults (no blur, 3x3 Sobel with replicated borders, L1 gradient unless `l2` is asked for).
// Steps: per-pixel gradient of the channel with the largest magnitude, non-maximum suppression along the
// gradient direction quantised to 4 sectors in OpenCV's fixed point (tan 22.5° in 15 bits), then a double
// threshold (strictly above `low` is a candidate, strictly above `high` is strong) and hysteresis over
// 8-neighbours. canny.test.ts compares the edge map with one cv2.Canny made. Pure module.
import type { GreyImage, RgbImage } from './images.ts';

export interface CannyOptions {
  low: number;
  high: number;
  /** L2 gradient magnitude (sqrt(dx² + dy²)) instead of OpenCV's default L1 (|dx| + |dy|). */
  l2?: boolean;
}

const CANNY_SHIFT = 15;
/** tan(22.5°) in 15-bit fixed point, as OpenCV rounds it. */
const TG22 = Math.floor(0.4142135623730950488016887242097 * (1 << CANNY_SHIFT) + 0.5);

/** Edge map of an RGB (3 channels) or grey (1 channel) image: 255 on edges, 0 elsewhere. */
export function canny(image: RgbImage | GreyImage, options: CannyOptions): GreyImage {
  const { width: w, height: h } = image;
  const cn = image.data.length / (w * h);
  if (cn !== 1 && cn !== 3) throw new RangeError(`canny: ${cn} channels; expected 1 or 3`);
  let low = options.low;
  let high = options.high;
  if (low > high) [low, high] = [high, low];
  if (options.l2) {
    low = Math.min(32767, low);
    high = Math.min(32767, high);
    if (low > 0) low *= low;
    if (high > 0) high *= high;
  }
  low = Math.floor(low);
  high = Math.floor(high);

  const { dx, dy, mag } = gradients(image, cn, options.l2 === true);

  // The map has a one-pixel frame: 1 = not an edge, 0 = weak candidate, 2 = edge.
  const ms = w + 2;
  const map = new Uint8Array(ms * (h + 2)).fill(1);
  const stack: number[] = [];
  const magAt = (x: number, y: number): number => (x < 0 || y < 0 || x >= w || y >= h ? 0 : mag[y * w + x]);

  for (let y = 0; y < h; y++) {
    let prevStrong = false;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const m = mag[i];
      const at = (y + 1) * ms + x + 1;
      if (m > low && isLocalMaximum(m, dx[i], dy[i], x, y, magAt)) {
        if (!prevStrong && m > high && map[at - ms] !== 2) {
          map[at] = 2;
          stack.push(at);
          prevStrong = true;
        } else {
          map[at] = 0;
        }
        continue;
      }
      prevStrong = false;
      map[at] = 1;
    }
  }

  // Hysteresis: every weak candidate 8-connected to an edge becomes an edge.
  const around = [-ms - 1, -ms, -ms + 1, -1, 1, ms - 1, ms, ms + 1];
  while (stack.length > 0) {
    const at = stack.pop()!;
    for (const d of around) {
      if (map[at + d] === 0) {
        map[at + d] = 2;
        stack.push(at + d);
      }
    }
  }

  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (map[(y + 1) * ms + x + 1] === 2) out[y * w + x] = 255;
  return { width: w, height: h, data: out };
}

/** OpenCV's sector test: horizontal, vertical or one of the diagonals, with its strict/non-strict sides. */
function isLocalMaximum(m: number, xs: number, ys: number, x: number, y: number, magAt: (x: number, y: number) => number): boolean {
  const ax = Math.abs(xs);
  const ay = Math.abs(ys) * (1 << CANNY_SHIFT);
  const tg22x = ax * TG22;
  if (ay < tg22x) return m > magAt(x - 1, y) && m >= magAt(x + 1, y);
  const tg67x = tg22x + ax * (1 << (CANNY_SHIFT + 1));
  if (ay > tg67x) return m > magAt(x, y - 1) && m >= magAt(x, y + 1);
  const s = (xs < 0) !== (ys < 0) ? -1 : 1;
  return m > magAt(x - s, y - 1) && m > magAt(x + s, y + 1);
}

/**
 * 3x3 Sobel derivatives with replicated borders; for colour images each pixel keeps the channel whose
 * magnitude is largest (the first on ties), as OpenCV does.
 */
function gradients(image: RgbImage | GreyImage, cn: number, l2: boolean) {
  const { width: w, height: h, data } = image;
  const dx = new Int32Array(w * h);
  const dy = new Int32Array(w * h);
  const mag = new Int32Array(w * h);
  const px = (x: number, y: number, c: number): number =>
    data[(Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) * cn + c];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let best = -1;
      for (let c = 0; c < cn; c++) {
        const gx = px(x + 1, y - 1, c) + 2 * px(x + 1, y, c) + px(x + 1, y + 1, c) - px(x - 1, y - 1, c) - 2 * px(x - 1, y, c) - px(x - 1, y + 1, c);
        const gy = px(x - 1, y + 1, c) + 2 * px(x, y + 1, c) + px(x + 1, y + 1, c) - px(x - 1, y - 1, c) - 2 * px(x, y - 1, c) - px(x + 1, y - 1, c);
        const m = l2 ? gx * gx + gy * gy : Math.abs(gx) + Math.abs(gy);
        if (m > best) {
          best = m;
          const i = y * w + x;
          dx[i] = gx;
          dy[i] = gy;
          mag[i] = m;
        }
      }
    }
  }
  return { dx, dy, mag };
}
