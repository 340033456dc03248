// Plain float64 layers for the independent UNet reference (float64-unet.test-support.ts): written from the
// definitions (PyTorch's Conv2d, GroupNorm, LayerNorm, Linear, exact-erf GELU, scaled dot-product attention),
// sharing no code with the engine's graph builder, so a mistake in one does not hide in the other.
//
// Layouts: a feature map is channel-major [C, H, W] of one image; tokens are row-major [T, C].

/** A feature map [C, H, W] of one image. */
export interface Map64 {
  c: number;
  h: number;
  w: number;
  data: Float64Array;
}

/** Conv2d with a [O, I, k, k] kernel, zero padding `pad`, stride 1 or 2. */
export function conv2d(x: Map64, weight: Float64Array, bias: Float64Array | null, outC: number, k: number, stride: number, pad: number): Map64 {
  const { c: inC, h, w } = x;
  if (weight.length !== outC * inC * k * k) throw new Error(`conv2d: kernel of ${weight.length} values is not [${outC}, ${inC}, ${k}, ${k}]`);
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(outC * oh * ow);
  for (let o = 0; o < outC; o++) {
    const plane = out.subarray(o * oh * ow, (o + 1) * oh * ow);
    if (bias) plane.fill(bias[o]);
    for (let i = 0; i < inC; i++) {
      const src = x.data.subarray(i * h * w, (i + 1) * h * w);
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = weight[((o * inC + i) * k + ky) * k + kx];
          // output columns whose source column xx * stride + kx - pad lies inside the input
          const x0 = Math.max(0, Math.ceil((pad - kx) / stride));
          const x1 = Math.min(ow, Math.floor((w - 1 + pad - kx) / stride) + 1);
          for (let y = 0; y < oh; y++) {
            const sy = y * stride + ky - pad;
            if (sy < 0 || sy >= h) continue;
            const row = sy * w + kx - pad;
            for (let xx = x0; xx < x1; xx++) plane[y * ow + xx] += wv * src[row + xx * stride];
          }
        }
      }
    }
  }
  return { c: outC, h: oh, w: ow, data: out };
}

/** GroupNorm: per group of C / groups channels, (x - mean) / sqrt(biased variance + eps), then the affine. */
export function groupNorm(x: Map64, groups: number, gamma: Float64Array, beta: Float64Array, eps: number): Map64 {
  const { c, h, w } = x;
  const per = c / groups;
  if (!Number.isInteger(per)) throw new Error(`groupNorm: ${c} channels do not split into ${groups} groups`);
  const hw = h * w;
  const out = new Float64Array(x.data.length);
  for (let g = 0; g < groups; g++) {
    const from = g * per * hw;
    const to = (g + 1) * per * hw;
    let mean = 0;
    for (let i = from; i < to; i++) mean += x.data[i];
    mean /= to - from;
    let variance = 0;
    for (let i = from; i < to; i++) variance += (x.data[i] - mean) ** 2;
    variance /= to - from;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let ch = g * per; ch < (g + 1) * per; ch++) {
      for (let p = 0; p < hw; p++) out[ch * hw + p] = (x.data[ch * hw + p] - mean) * inv * gamma[ch] + beta[ch];
    }
  }
  return { c, h, w, data: out };
}

/** LayerNorm over the last axis of tokens [T, C]. */
export function layerNorm(x: Float64Array, t: number, c: number, gamma: Float64Array, beta: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < t; i++) {
    const row = x.subarray(i * c, (i + 1) * c);
    let mean = 0;
    for (const v of row) mean += v;
    mean /= c;
    let variance = 0;
    for (const v of row) variance += (v - mean) ** 2;
    variance /= c;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let j = 0; j < c; j++) out[i * c + j] = (row[j] - mean) * inv * gamma[j] + beta[j];
  }
  return out;
}

/** y = x W^T + b for tokens x [T, in] and W [out, in]. */
export function linear(x: Float64Array, t: number, weight: Float64Array, bias: Float64Array | null, inW: number, outW: number): Float64Array {
  if (weight.length !== inW * outW) throw new Error(`linear: weight of ${weight.length} values is not [${outW}, ${inW}]`);
  const y = new Float64Array(t * outW);
  for (let i = 0; i < t; i++) {
    const row = x.subarray(i * inW, (i + 1) * inW);
    for (let o = 0; o < outW; o++) {
      let s = bias ? bias[o] : 0;
      const wr = weight.subarray(o * inW, (o + 1) * inW);
      for (let k = 0; k < inW; k++) s += row[k] * wr[k];
      y[i * outW + o] = s;
    }
  }
  return y;
}

export const silu = (v: number) => v / (1 + Math.exp(-v));

/** erf to float64 accuracy: its Maclaurin series below 3, the continued fraction of erfc above. */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(-a^2) / sqrt(pi) * 1 / (a + 1/2 / (a + 1 / (a + 3/2 / (a + 2 / ...)))), evaluated bottom-up.
  let f = a;
  for (let n = 60; n >= 1; n--) f = a + n / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/** GELU with the exact erf, as torch's default `F.gelu`. */
export const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));

/**
 * Multi-head scaled dot-product attention: q [Tq, inner], k and v [Tk, inner] already projected, `heads` heads of
 * inner / heads channels each; softmax(q k^T / sqrt(d)) v per head, heads concatenated: [Tq, inner].
 */
export function attention(q: Float64Array, k: Float64Array, v: Float64Array, tq: number, tk: number, inner: number, heads: number): Float64Array {
  const d = inner / heads;
  const scale = 1 / Math.sqrt(d);
  const out = new Float64Array(tq * inner);
  const scores = new Float64Array(tk);
  for (let hd = 0; hd < heads; hd++) {
    const off = hd * d;
    for (let i = 0; i < tq; i++) {
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += q[i * inner + off + e] * k[j * inner + off + e];
        scores[j] = s * scale;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += scores[j] = Math.exp(scores[j] - max);
      for (let j = 0; j < tk; j++) {
        const p = scores[j] / sum;
        for (let e = 0; e < d; e++) out[i * inner + off + e] += p * v[j * inner + off + e];
      }
    }
  }
  return out;
}

/** [C, H, W] -> tokens [H*W, C]. */
export function toTokens(x: Map64): Float64Array {
  const { c, h, w } = x;
  const out = new Float64Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[p * c + ch] = x.data[ch * h * w + p];
  return out;
}

/** Tokens [H*W, C] -> [C, H, W]. */
export function fromTokens(t: Float64Array, c: number, h: number, w: number): Map64 {
  const data = new Float64Array(c * h * w);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) data[ch * h * w + p] = t[p * c + ch];
  return { c, h, w, data };
}

/** Nearest-neighbour upsampling by 2 (`F.interpolate(scale_factor=2, mode='nearest')`). */
export function upsampleNearest2(x: Map64): Map64 {
  const { c, h, w } = x;
  const data = new Float64Array(c * 4 * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < 2 * h; y++) {
      for (let xx = 0; xx < 2 * w; xx++) data[(ch * 2 * h + y) * 2 * w + xx] = x.data[(ch * h + (y >> 1)) * w + (xx >> 1)];
    }
  }
  return { c, h: 2 * h, w: 2 * w, data };
}

/** Channel concatenation [a; b] of two maps of the same size (`torch.cat(dim=1)`). */
export function concatChannels(a: Map64, b: Map64): Map64 {
  if (a.h !== b.h || a.w !== b.w) throw new Error(`concat: ${a.h}x${a.w} and ${b.h}x${b.w} differ`);
  const data = new Float64Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { c: a.c + b.c, h: a.h, w: a.w, data };
}
