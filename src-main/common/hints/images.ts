// Image shapes the hint processing works on, and the small pixel conversions they share. Layers hold straight
// RGBA (as ImageData does); control models take RGB8 at the document size. Pure module.

/** 8-bit RGB, row-major: what a control unit gets. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // [H, W, 3]
}

/** 8-bit RGBA with straight alpha (a layer's pixels). */
export interface RgbaPixels {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array; // [H, W, 4]
}

/** One 8-bit channel (masks, edge maps). */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array; // [H, W]
}

/** Rounds to the nearest integer, ties to even (C's lrint, which OpenCV's cvRound uses). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function blankRgb(width: number, height: number, fill: readonly [number, number, number] = [0, 0, 0]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  if (fill[0] || fill[1] || fill[2]) for (let i = 0; i < data.length; i += 3) data.set(fill, i);
  return { width, height, data };
}

/** RGBA composited over a solid paper colour (the layer's unpainted background). */
export function flattenOver(src: RgbaPixels, paper: readonly [number, number, number]): RgbImage {
  const out = new Uint8Array(src.width * src.height * 3);
  const s = src.data;
  for (let i = 0, o = 0; i < s.length; i += 4, o += 3) {
    const a = s[i + 3];
    for (let c = 0; c < 3; c++) out[o + c] = Math.round((s[i + c] * a + paper[c] * (255 - a)) / 255);
  }
  return { width: src.width, height: src.height, data: out };
}

/** BT.601 luma of each pixel, as cv2.cvtColor(RGB2GRAY) weights it. */
export function luma(src: RgbImage): GreyImage {
  const out = new Uint8Array(src.width * src.height);
  const s = src.data;
  for (let i = 0, o = 0; o < out.length; i += 3, o++) out[o] = Math.round(0.299 * s[i] + 0.587 * s[i + 1] + 0.114 * s[i + 2]);
  return { width: src.width, height: src.height, data: out };
}

export function greyToRgb(src: GreyImage): RgbImage {
  const out = new Uint8Array(src.width * src.height * 3);
  for (let i = 0; i < src.data.length; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = src.data[i];
  return { width: src.width, height: src.height, data: out };
}

/** RGB to RGBA, opaque (for showing a control image on the canvas). */
export function rgbToRgba(src: RgbImage): Uint8ClampedArray {
  const out = new Uint8ClampedArray(src.width * src.height * 4);
  for (let i = 0, o = 0; i < src.data.length; i += 3, o += 4) {
    out[o] = src.data[i];
    out[o + 1] = src.data[i + 1];
    out[o + 2] = src.data[i + 2];
    out[o + 3] = 255;
  }
  return out;
}
