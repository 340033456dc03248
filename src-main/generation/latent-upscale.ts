// torch.nn.functional.interpolate(x, size=(H, W), mode, align_corners=False, antialias) on an NCHW float32
// tensor, for A1111's "Latent" hires upscalers (hires-contract.ts LATENT_UPSCALERS). Every mode torch has for
// them is separable, so each axis gets a table of (source index, weight) per output index and the tensor is
// resampled along W, then along H:
// - bilinear: source = max(scale * (i + 0.5) - 0.5, 0), its two neighbours (the last one repeated at the edge);
// - bicubic: the same source without the clamp, Keys' cubic convolution with A = -0.75, indices clamped;
// - antialiased bilinear/bicubic: torch's PIL-style filters (triangle; cubic with a = -0.5) stretched by the
//   scale when shrinking, centred at scale * (i + 0.5), cut to the input and normalised to sum 1;
// - nearest: floor(i * scale); nearest-exact: floor((i + 0.5) * scale), both in float32 as torch computes them.
// `scale` is in / out, as torch uses when given a size.

/** A float32 tensor, the engine's Tensor32. */
export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}

export type InterpolateMode = 'bilinear' | 'bicubic' | 'nearest' | 'nearest-exact';

interface AxisTaps {
  /** Per output index: where its taps start in `index` / `weight`, and how many. */
  start: Int32Array;
  count: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

function taps(perOutput: { index: number[]; weight: number[] }[]): AxisTaps {
  const total = perOutput.reduce((n, t) => n + t.index.length, 0);
  const out: AxisTaps = { start: new Int32Array(perOutput.length), count: new Int32Array(perOutput.length), index: new Int32Array(total), weight: new Float64Array(total) };
  let at = 0;
  perOutput.forEach((t, i) => {
    out.start[i] = at;
    out.count[i] = t.index.length;
    out.index.set(t.index, at);
    out.weight.set(t.weight, at);
    at += t.index.length;
  });
  return out;
}

const clampIndex = (i: number, size: number) => Math.min(Math.max(i, 0), size - 1);

/** Keys' cubic convolution kernel at distance t (torch's cubic_convolution1/2). */
function cubic(t: number, a: number): number {
  const x = Math.abs(t);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

function plainTaps(mode: InterpolateMode, inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const f32 = Math.fround(scale);
  const list: { index: number[]; weight: number[] }[] = [];
  for (let i = 0; i < outSize; i++) {
    if (mode === 'nearest' || mode === 'nearest-exact') {
      let src: number;
      if (mode === 'nearest' && outSize === inSize) src = i;
      else if (mode === 'nearest' && outSize === 2 * inSize) src = i >> 1;
      else src = Math.floor(Math.fround((mode === 'nearest' ? i : i + 0.5) * f32));
      list.push({ index: [Math.min(src, inSize - 1)], weight: [1] });
    } else if (mode === 'bilinear') {
      const src = Math.max(scale * (i + 0.5) - 0.5, 0);
      const i0 = Math.floor(src);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const l1 = src - i0;
      list.push({ index: [i0, i1], weight: [1 - l1, l1] });
    } else {
      const src = scale * (i + 0.5) - 0.5;
      const i0 = Math.floor(src);
      const t = src - i0;
      list.push({
        index: [-1, 0, 1, 2].map((k) => clampIndex(i0 + k, inSize)),
        weight: [-1, 0, 1, 2].map((k) => cubic(t - k, -0.75)),
      });
    }
  }
  return taps(list);
}

/** torch's _compute_indices_weights_aa: a PIL-style filter, widened by the scale when shrinking. */
function antialiasTaps(mode: 'bilinear' | 'bicubic', inSize: number, outSize: number): AxisTaps {
  const scale = inSize / outSize;
  const interpSize = mode === 'bilinear' ? 2 : 4;
  const filter = mode === 'bilinear' ? (x: number) => Math.max(0, 1 - Math.abs(x)) : (x: number) => cubic(x, -0.5);
  const support = scale >= 1 ? (interpSize / 2) * scale : interpSize / 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const list: { index: number[]; weight: number[] }[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    const index: number[] = [];
    const weight: number[] = [];
    for (let j = xmin; j < xmax; j++) {
      index.push(j);
      weight.push(filter((j - center + 0.5) * invScale));
    }
    const total = weight.reduce((a, b) => a + b, 0);
    list.push({ index, weight: weight.map((w) => (total !== 0 ? w / total : 0)) });
  }
  return taps(list);
}

function axisTaps(mode: InterpolateMode, antialias: boolean, inSize: number, outSize: number): AxisTaps {
  if (antialias && (mode === 'bilinear' || mode === 'bicubic')) return antialiasTaps(mode, inSize, outSize);
  return plainTaps(mode, inSize, outSize);
}

/** F.interpolate(x, size=(height, width), mode=mode, antialias=antialias), align_corners False, on [N, C, h, w]. */
export function interpolate(x: Tensor32, height: number, width: number, mode: InterpolateMode, antialias = false): Tensor32 {
  const [n, c, h, w] = x.shape;
  if (x.shape.length !== 4 || x.data.length !== n * c * h * w) throw new RangeError(`interpolate: expected an NCHW tensor, got [${x.shape.join(', ')}]`);
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) throw new RangeError(`interpolate: size ${height}x${width}`);
  const across = axisTaps(mode, antialias, w, width);
  const down = axisTaps(mode, antialias, h, height);
  const planes = n * c;
  const rows = new Float64Array(h * width); // one plane resampled along W
  const out = new Float32Array(planes * height * width); // [N, C, height, width]
  for (let p = 0; p < planes; p++) {
    const src = p * h * w;
    for (let y = 0; y < h; y++) {
      for (let xo = 0; xo < width; xo++) {
        let sum = 0;
        for (let k = across.start[xo], e = k + across.count[xo]; k < e; k++) sum += x.data[src + y * w + across.index[k]] * across.weight[k];
        rows[y * width + xo] = sum;
      }
    }
    const dst = p * height * width;
    for (let yo = 0; yo < height; yo++) {
      for (let xo = 0; xo < width; xo++) {
        let sum = 0;
        for (let k = down.start[yo], e = k + down.count[yo]; k < e; k++) sum += rows[down.index[k] * width + xo] * down.weight[k];
        out[dst + yo * width + xo] = sum;
      }
    }
  }
  return { shape: [n, c, height, width], data: out };
}

/** Cuts `left/top` cells before and `right/bottom` after from the last two axes (A1111's truncate slice). */
export function cropLatents(x: Tensor32, top: number, bottom: number, left: number, right: number): Tensor32 {
  const [n, c, h, w] = x.shape;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  const oh = h - top - bottom;
  const ow = w - left - right;
  if (oh < 1 || ow < 1) throw new RangeError(`crop of ${top}+${bottom} x ${left}+${right} from ${h}x${w}`);
  const out = new Float32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++) out.set(x.data.subarray(p * h * w + (y + top) * w + left, p * h * w + (y + top) * w + left + ow), (p * oh + y) * ow);
  }
  return { shape: [n, c, oh, ow], data: out };
}
