// Pictures as the annotators see them: 8-bit RGB (as the published annotators receive them from PIL/gradio)
// and one-channel float maps. Resampling follows OpenCV's conventions, which the published pre- and
// post-processing use: pixel centres at +0.5 ('linear' = INTER_LINEAR and torch's bilinear with
// align_corners=False, 'cubic' = INTER_CUBIC with a = -0.75, borders replicated), 'area' = INTER_AREA when
// shrinking (exact box coverage; it falls back to linear when enlarging).

import { decodePng } from '../../formats/png.ts';

/** 8-bit RGB, row-major, channels interleaved. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array; // [H, W, 3]
}

/** Float samples with `channels` interleaved per pixel. */
export interface FloatImage {
  width: number;
  height: number;
  channels: number;
  data: Float32Array; // [H, W, C]
}

export type Resample = 'linear' | 'cubic' | 'area';

/** Alpha is composited over white, as ControlNet's HWC3 does; grey is spread to three channels. */
function toRgb(width: number, height: number, channels: number, data: Uint8Array): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const rgb = channels >= 3 ? [data[s], data[s + 1], data[s + 2]] : [data[s], data[s], data[s]];
    const alpha = channels === 4 ? data[s + 3] / 255 : channels === 2 ? data[s + 1] / 255 : 1;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(rgb[c] * alpha + 255 * (1 - alpha));
  }
  return { width, height, data: out };
}

export function rgbFromPng(bytes: Uint8Array, maxPixels = 8192 * 8192): RgbImage {
  const png = decodePng(bytes, { source: 'the picture to annotate', maxPixels });
  return toRgb(png.width, png.height, png.channels, png.data);
}

export function rgbFromRgba(bytes: Uint8Array, width: number, height: number): RgbImage {
  return toRgb(width, height, 4, bytes);
}

export function toFloat(img: RgbImage): FloatImage {
  return { width: img.width, height: img.height, channels: 3, data: Float32Array.from(img.data) };
}

/** Rounded and clamped to 0..255, as OpenCV saturates. */
export function toRgb8(img: FloatImage): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(img.data[i])));
  return { width: img.width, height: img.height, data };
}

/** Taps of one output sample along one axis: input indices and their weights. */
interface AxisTaps {
  taps: number;
  index: Int32Array; // [out, taps]
  weight: Float32Array; // [out, taps]
}

function cubicWeight(x: number): number {
  const a = -0.75;
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

function axisTaps(inSize: number, outSize: number, method: Resample): AxisTaps {
  const scale = inSize / outSize;
  const clamp = (i: number) => Math.min(inSize - 1, Math.max(0, i));
  if (method === 'area' && scale > 1) {
    const taps = Math.ceil(scale) + 1;
    const index = new Int32Array(outSize * taps);
    const weight = new Float32Array(outSize * taps);
    for (let o = 0; o < outSize; o++) {
      const start = o * scale;
      const end = start + scale;
      for (let t = 0, i = Math.floor(start); t < taps; t++, i++) {
        const cover = Math.max(0, Math.min(end, i + 1) - Math.max(start, i));
        index[o * taps + t] = clamp(i);
        weight[o * taps + t] = cover / scale;
      }
    }
    return { taps, index, weight };
  }
  const cubic = method === 'cubic';
  const taps = cubic ? 4 : 2;
  const index = new Int32Array(outSize * taps);
  const weight = new Float32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    let src = (o + 0.5) * scale - 0.5;
    if (!cubic) src = Math.max(0, src); // OpenCV clamps the left edge before splitting
    const base = Math.floor(src);
    const frac = src - base;
    for (let t = 0; t < taps; t++) {
      const i = cubic ? base - 1 + t : base + t;
      index[o * taps + t] = clamp(i);
      weight[o * taps + t] = cubic ? cubicWeight(frac - (t - 1)) : t === 0 ? 1 - frac : frac;
    }
  }
  return { taps, index, weight };
}

/** Resizes a float image to width x height (separable: rows, then columns). */
export function resize(img: FloatImage, width: number, height: number, method: Resample): FloatImage {
  const { channels: C } = img;
  if (width === img.width && height === img.height) return { ...img, data: img.data.slice() };
  const xs = axisTaps(img.width, width, method);
  const ys = axisTaps(img.height, height, method);
  const mid = new Float32Array(img.height * width * C); // [H_in, W_out, C]
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let t = 0; t < xs.taps; t++) sum += xs.weight[x * xs.taps + t] * img.data[(y * img.width + xs.index[x * xs.taps + t]) * C + c];
        mid[(y * width + x) * C + c] = sum;
      }
    }
  }
  const out = new Float32Array(height * width * C); // [H_out, W_out, C]
  for (let y = 0; y < height; y++) {
    for (let t = 0; t < ys.taps; t++) {
      const w = ys.weight[y * ys.taps + t];
      if (w === 0) continue;
      const row = ys.index[y * ys.taps + t] * width * C;
      for (let i = 0; i < width * C; i++) out[y * width * C + i] += w * mid[row + i];
    }
  }
  return { width, height, channels: C, data: out };
}

export function resizeRgb(img: RgbImage, width: number, height: number, method: Resample): RgbImage {
  if (width === img.width && height === img.height) return img;
  return toRgb8(resize(toFloat(img), width, height, method));
}

/** ControlNet's resize_image: the short side to `resolution`, both sides rounded to multiples of 64. */
export function detectSize(width: number, height: number, resolution = 512): { width: number; height: number } {
  const k = resolution / Math.min(width, height);
  return { width: Math.max(64, Math.round((width * k) / 64) * 64), height: Math.max(64, Math.round((height * k) / 64) * 64) };
}

/** An NCHW float32 tensor of an RGB image: each channel mapped by (v - mean[c]) / std[c]. */
export function toNchw(img: FloatImage | RgbImage, mean: readonly number[], std: readonly number[], order: readonly number[] = [0, 1, 2]): Float32Array {
  const { width: W, height: H } = img;
  const src = img.data;
  const out = new Float32Array(3 * H * W); // [1, 3, H, W]
  for (let c = 0; c < 3; c++) {
    const from = order[c];
    for (let i = 0; i < H * W; i++) out[c * H * W + i] = (src[i * 3 + from] - mean[c]) / std[c];
  }
  return out;
}

/** One plane [H, W] as a FloatImage of one channel (a view, not a copy). */
export function plane(data: Float32Array, width: number, height: number): FloatImage {
  return { width, height, channels: 1, data };
}

/** 0..255 floats as 8-bit grey bytes (rounded, clamped). */
export function toGrey8(img: FloatImage): Uint8Array {
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(img.data[i * img.channels])));
  return out;
}
