// The latent upscalers against an independent computation: each output value computed on its own from the
// formulas PyTorch documents for F.interpolate (align_corners=False; the antialiased modes are PIL's filters,
// as torch's antialias=True follows them), as a 2-D weighted sum over the whole input, not per axis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATENT_UPSCALERS } from '../common/hires-contract.ts';
import { cropLatents, interpolate, type InterpolateMode } from './latent-upscale.ts';

/** Weight of input position j for output position o along one axis, straight from the documented rules. */
function weight1d(mode: InterpolateMode, antialias: boolean, inSize: number, outSize: number, o: number, j: number): number {
  const scale = inSize / outSize;
  if (mode === 'nearest') return j === Math.min(Math.floor(Math.fround(o * Math.fround(scale))), inSize - 1) ? 1 : 0;
  if (mode === 'nearest-exact') return j === Math.min(Math.floor((o + 0.5) * scale), inSize - 1) ? 1 : 0;
  if (antialias) {
    // PIL: the filter centred at (o + 0.5) * scale in pixel-centre coordinates, widened by scale when shrinking
    const stretch = Math.max(scale, 1);
    const a = -0.5;
    const kernel = (x: number) => {
      const t = Math.abs(x);
      if (mode === 'bilinear') return t < 1 ? 1 - t : 0;
      if (t < 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
      if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
      return 0;
    };
    const support = (mode === 'bilinear' ? 1 : 2) * stretch;
    const center = (o + 0.5) * scale;
    const inRange = (k: number) => k >= Math.max(Math.trunc(center - support + 0.5), 0) && k < Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let k = 0; k < inSize; k++) if (inRange(k)) total += kernel((k + 0.5 - center) / stretch);
    return inRange(j) ? kernel((j + 0.5 - center) / stretch) / total : 0;
  }
  if (mode === 'bilinear') {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.floor(src);
    const hi = Math.min(lo + 1, inSize - 1);
    return (j === lo ? 1 - (src - lo) : 0) + (j === hi ? src - lo : 0);
  }
  // bicubic, A = -0.75, taps at floor(src) - 1 .. + 2 with the indices clamped to the edge
  const A = -0.75;
  const src = (o + 0.5) * scale - 0.5;
  const base = Math.floor(src);
  const t = src - base;
  const w = [
    ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
    ((A + 2) * t - (A + 3)) * t * t + 1,
    ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1,
    ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A,
  ];
  let sum = 0;
  for (let k = 0; k < 4; k++) if (Math.min(Math.max(base - 1 + k, 0), inSize - 1) === j) sum += w[k];
  return sum;
}

function reference(x: Float32Array, c: number, h: number, w: number, H: number, W: number, mode: InterpolateMode, aa: boolean): Float64Array {
  const out = new Float64Array(c * H * W);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < H; oy++) {
      for (let ox = 0; ox < W; ox++) {
        let sum = 0;
        for (let y = 0; y < h; y++) {
          const wy = weight1d(mode, aa, h, H, oy, y);
          if (wy === 0) continue;
          for (let xx = 0; xx < w; xx++) sum += wy * weight1d(mode, aa, w, W, ox, xx) * x[(ch * h + y) * w + xx];
        }
        out[(ch * H + oy) * W + ox] = sum;
      }
    }
  }
  return out;
}

const pattern = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 2 + Math.cos(i * 0.31));

test('torch bilinear 2x of [[1, 2], [3, 4]] (the values torch prints)', () => {
  const out = interpolate({ shape: [1, 1, 2, 2], data: Float32Array.of(1, 2, 3, 4) }, 4, 4, 'bilinear');
  assert.deepEqual([...out.data], [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
});

test("every A1111 latent upscaler matches the direct formula (2x, 1.5x, mixed and shrinking sizes)", () => {
  const [c, h, w] = [4, 6, 5];
  const x = pattern(c * h * w);
  for (const [name, { mode, antialias }] of Object.entries(LATENT_UPSCALERS)) {
    for (const [H, W] of [[12, 10], [9, 8], [13, 7], [4, 3]]) {
      const got = interpolate({ shape: [1, c, h, w], data: x }, H, W, mode, antialias);
      assert.deepEqual(got.shape, [1, c, H, W]);
      const want = reference(x, c, h, w, H, W, mode, antialias);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got.data[i] - want[i]) < 1e-5, `${name} to ${H}x${W} at ${i}: ${got.data[i]} vs ${want[i]}`);
    }
  }
});

test('antialiased bicubic differs from plain bicubic when upscaling (a = -0.5, no edge clamp), bilinear does not', () => {
  const x = { shape: [1, 1, 4, 4], data: pattern(16) };
  const plain = interpolate(x, 8, 8, 'bicubic');
  const aa = interpolate(x, 8, 8, 'bicubic', true);
  assert.ok(plain.data.some((v, i) => Math.abs(v - aa.data[i]) > 1e-3));
  const bl = interpolate(x, 8, 8, 'bilinear');
  const blAa = interpolate(x, 8, 8, 'bilinear', true);
  bl.data.forEach((v, i) => assert.ok(Math.abs(v - blAa.data[i]) < 1e-6));
});

test("A1111's truncate slice cuts half before (rounded down) and half after", () => {
  const x = { shape: [1, 1, 4, 5], data: Float32Array.from({ length: 20 }, (_, i) => i) };
  const out = cropLatents(x, 1, 1, 0, 1);
  assert.deepEqual(out.shape, [1, 1, 2, 4]);
  assert.deepEqual([...out.data], [5, 6, 7, 8, 10, 11, 12, 13]);
});
