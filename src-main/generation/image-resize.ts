// Resizing of control, init and mask images to the generation size, as A1111 does it: its `resize_image`
// (modes "Just resize", "Crop and resize", "Resize and fill") over Pillow's Lanczos resampling, reproduced to
// the byte (same coefficients, same 22-bit fixed-point rounding, horizontal pass before the vertical one), so a
// hint resized here feeds the model exactly what A1111 would feed it.
//
// Images are 8-bit, row-major, channels interleaved (1: grey, 3: RGB), like PngImage without alpha.

export type ResizeMode = 'just-resize' | 'crop-and-resize' | 'resize-and-fill';

export const RESIZE_MODES: readonly ResizeMode[] = ['just-resize', 'crop-and-resize', 'resize-and-fill'];

/** The names sd-webui-controlnet writes in a unit's "Resize Mode". */
export const A1111_RESIZE_NAMES: Record<ResizeMode, string> = {
  'just-resize': 'Just Resize',
  'crop-and-resize': 'Crop and Resize',
  'resize-and-fill': 'Resize and Fill',
};

export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

const PRECISION_BITS = 32 - 8 - 2; // Pillow's fixed-point precision for 8-bit images

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

interface Filter {
  support: number;
  at(x: number): number;
}

const LANCZOS: Filter = { support: 3, at: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) };

/** Pillow's bicubic (a = -0.5), its default for resize() when no filter is named. */
const BICUBIC: Filter = {
  support: 2,
  at: (x) => {
    const a = -0.5;
    const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  },
};

interface Coefficients {
  ksize: number;
  /** Per output pixel: first input index and how many inputs. */
  bounds: Int32Array;
  /** Per output pixel, ksize fixed-point weights. */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpp for one axis; `in0..in1` is the source box on it. */
function coefficients(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coefficients {
  const scale = (in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < count; x++) {
      k[x] = filter.at((x + xmin - center + 0.5) / filterScale);
      sum += k[x];
    }
    for (let x = 0; x < count; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = Math.max(count, 0);
  }
  return { ksize, bounds, weights };
}

const clip8 = (v: number): number => Math.min(255, Math.max(0, Math.floor(v / (1 << PRECISION_BITS))));

/** Horizontal pass over rows `firstRow .. firstRow + rows` of `src`. */
function resampleHorizontal(src: Image8, outWidth: number, firstRow: number, rows: number, c: Coefficients): Image8 {
  const ch = src.channels;
  const out = new Uint8Array(outWidth * rows * ch);
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + firstRow) * src.width * ch;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = c.bounds[xx * 2];
      const count = c.bounds[xx * 2 + 1];
      for (let b = 0; b < ch; b++) {
        let ss = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < count; x++) ss += src.data[rowBase + (x + xmin) * ch + b] * c.weights[xx * c.ksize + x];
        out[(y * outWidth + xx) * ch + b] = clip8(ss);
      }
    }
  }
  return { width: outWidth, height: rows, channels: ch, data: out };
}

function resampleVertical(src: Image8, outHeight: number, rowShift: number, c: Coefficients): Image8 {
  const ch = src.channels;
  const rowLen = src.width * ch;
  const out = new Uint8Array(outHeight * rowLen);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = c.bounds[yy * 2] - rowShift;
    const count = c.bounds[yy * 2 + 1];
    for (let i = 0; i < rowLen; i++) {
      let ss = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < count; y++) ss += src.data[(y + ymin) * rowLen + i] * c.weights[yy * c.ksize + y];
      out[yy * rowLen + i] = clip8(ss);
    }
  }
  return { width: src.width, height: outHeight, channels: ch, data: out };
}

/** Pillow's `im.resize((width, height), Image.LANCZOS, box)`; box = [x0, y0, x1, y1] of the source. */
export function lanczosResize(src: Image8, width: number, height: number, box: readonly number[] = [0, 0, src.width, src.height]): Image8 {
  return pillowResize(src, width, height, box, LANCZOS);
}

function pillowResize(src: Image8, width: number, height: number, box: readonly number[], filter: Filter): Image8 {
  if (width < 1 || height < 1) throw new RangeError(`resize to ${width}x${height}`);
  const [x0, y0, x1, y1] = box;
  const needH = width !== src.width || x0 !== 0 || x1 !== width;
  const needV = height !== src.height || y0 !== 0 || y1 !== height;
  if (!needH && !needV) return { ...src, data: Uint8Array.from(src.data) };
  const horizontal = coefficients(src.width, x0, x1, width, filter);
  const vertical = coefficients(src.height, y0, y1, height, filter);
  // Only the source rows the vertical pass reads go through the horizontal one (Pillow's ybox_first/last).
  const firstRow = vertical.bounds[0];
  const lastRow = vertical.bounds[height * 2 - 2] + vertical.bounds[height * 2 - 1];
  let img = src;
  let shift = 0;
  if (needH) {
    img = resampleHorizontal(src, width, firstRow, lastRow - firstRow, horizontal);
    shift = firstRow;
  }
  return needV ? resampleVertical(img, height, shift, vertical) : img;
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst` (PIL's paste). */
export function paste(dst: Image8, src: Image8, x: number, y: number): void {
  if (src.channels !== dst.channels) throw new RangeError('paste: channel counts differ');
  const ch = dst.channels;
  for (let sy = Math.max(0, -y); sy < src.height && sy + y < dst.height; sy++) {
    const from = Math.max(0, -x);
    const to = Math.min(src.width, dst.width - x);
    if (to <= from) return;
    dst.data.set(src.data.subarray((sy * src.width + from) * ch, (sy * src.width + to) * ch), ((sy + y) * dst.width + x + from) * ch);
  }
}

const blank = (width: number, height: number, channels: 1 | 3): Image8 => ({ width, height, channels, data: new Uint8Array(width * height * channels) });
const floorDiv = (a: number, b: number): number => Math.floor(a / b);

/** A1111's images.resize_image(mode, im, width, height) with no upscaler (Lanczos), black where nothing lands. */
export function resizeImage(src: Image8, mode: ResizeMode, width: number, height: number): Image8 {
  if (src.width === width && src.height === height) return { ...src, data: Uint8Array.from(src.data) };
  if (mode === 'just-resize') return lanczosResize(src, width, height);
  const ratio = width / height;
  const srcRatio = src.width / src.height;
  const res = blank(width, height, src.channels);
  if (mode === 'crop-and-resize') {
    const srcW = ratio > srcRatio ? width : floorDiv(src.width * height, src.height);
    const srcH = ratio <= srcRatio ? height : floorDiv(src.height * width, src.width);
    paste(res, lanczosResize(src, srcW, srcH), floorDiv(width, 2) - floorDiv(srcW, 2), floorDiv(height, 2) - floorDiv(srcH, 2));
    return res;
  }
  const srcW = ratio < srcRatio ? width : floorDiv(src.width * height, src.height);
  const srcH = ratio >= srcRatio ? height : floorDiv(src.height * width, src.width);
  const resized = lanczosResize(src, srcW, srcH);
  paste(res, resized, floorDiv(width, 2) - floorDiv(srcW, 2), floorDiv(height, 2) - floorDiv(srcH, 2));
  // The empty bands are filled with the resized image's edge rows (columns) stretched from a zero-size box;
  // A1111 names no filter there, so Pillow's default (bicubic) applies.
  const edge = (w: number, h: number, box: number[]) => pillowResize(resized, w, h, box, BICUBIC);
  if (ratio < srcRatio) {
    const fill = floorDiv(height, 2) - floorDiv(srcH, 2);
    if (fill > 0) {
      paste(res, edge(width, fill, [0, 0, width, 0]), 0, 0);
      paste(res, edge(width, fill, [0, resized.height, width, resized.height]), 0, fill + srcH);
    }
  } else if (ratio > srcRatio) {
    const fill = floorDiv(width, 2) - floorDiv(srcW, 2);
    if (fill > 0) {
      paste(res, edge(fill, height, [0, 0, 0, height]), 0, 0);
      paste(res, edge(fill, height, [resized.width, 0, resized.width, height]), fill + srcW, 0);
    }
  }
  return res;
}

/** Pillow's convert('L') of RGB: ITU-R 601-2 luma in 16-bit fixed point. */
export function toGrey(src: Image8): Image8 {
  if (src.channels === 1) return src;
  const n = src.width * src.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = src.data[i * 3];
    const g = src.data[i * 3 + 1];
    const b = src.data[i * 3 + 2];
    out[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
  }
  return { width: src.width, height: src.height, channels: 1, data: out };
}

/** Drops alpha and expands grey: any decoded PNG (1-4 channels) as RGB, alpha ignored as A1111 does. */
export function toRgb(src: { width: number; height: number; channels: 1 | 2 | 3 | 4; data: Uint8Array }): Image8 {
  if (src.channels === 3) return { width: src.width, height: src.height, channels: 3, data: src.data };
  const n = src.width * src.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = src.data[i * src.channels + (src.channels < 3 ? 0 : c)];
  }
  return { width: src.width, height: src.height, channels: 3, data: out };
}
