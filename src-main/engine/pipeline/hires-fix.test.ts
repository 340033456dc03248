// Hires fix against the same run made by hand, as an A1111 user would: txt2img at the base size, then the
// upscale written out here (torch's bilinear interpolate; the picture truncated to 8 bits and Lanczos-resized),
// then img2img at the target size with the same seed, over A1111's schedule: int(N / denoise) steps of which
// the last N run (here 4 of 8, which is also what img2img at 8 steps and strength 0.5 runs). The fixture's
// prompt and seed at 128x128 keep the runs short (generate.test.ts checks the pipeline against diffusers).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hiresTarget } from '../../common/hires-contract.ts';
import { lanczosResize } from '../../generation/image-resize.ts';
import { fixture } from '../goldens.test-support.ts';
import { generate, type GenerateRequest, type StepUpdate } from './generate.ts';
import { generateHires, type HiresPlan } from './hires-fix.ts';
import { ModelRuntime } from './model-runtime.ts';
import { goldenRequest } from './golden-request.test-support.ts';

const runtime = new ModelRuntime('float32', ['cpu']);
after(() => runtime.dispose());

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return goldenRequest({ width: 128, height: 128, ...overrides }); // 10 DDIM steps, seed 42
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** Bilinear to any size, align_corners=False, written out per output cell (torch's documented rule). */
function bilinear(x: Float32Array, c: number, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(c * H * W);
  const src = (o: number, n: number, N: number) => Math.max((o + 0.5) * (n / N) - 0.5, 0);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < H; oy++) {
      const sy = src(oy, h, H);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, h - 1);
      for (let ox = 0; ox < W; ox++) {
        const sx = src(ox, w, W);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, w - 1);
        const v = (y: number, xx: number) => x[(ch * h + y) * w + xx];
        const top = v(y0, x0) * (1 - (sx - x0)) + v(y0, x1) * (sx - x0);
        const bottom = v(y1, x0) * (1 - (sx - x0)) + v(y1, x1) * (sx - x0);
        out[(ch * H + oy) * W + ox] = top * (1 - (sy - y0)) + bottom * (sy - y0);
      }
    }
  }
  return out;
}

const plan = (upscale: HiresPlan['upscale'], scale = 1.5): HiresPlan => ({
  target: hiresTarget(128, 128, { scale, resizeWidth: 0, resizeHeight: 0 }),
  upscale,
  steps: 4,
  denoise: 0.5,
  controls: [],
});

test('Latent (bilinear) x1.5: equals txt2img, the latents interpolated by hand, img2img at 192x192; progress counts 10 + 4 steps', async () => {
  const steps: StepUpdate[] = [];
  const hires = await generateHires(runtime, request(), plan({ kind: 'latent', mode: 'bilinear', antialias: false }), { onStep: (u) => void steps.push(u) });
  assert.deepEqual(hires.image.shape, [1, 3, 192, 192]);

  const first = await generate(runtime, request());
  const latents = { shape: [1, 4, 24, 24], data: bilinear(first.latents.data, 4, 16, 16, 24, 24) };
  const byHand = await generate(runtime, request({ width: 192, height: 192, steps: 8, init: { latents, strength: 0.5 } }));
  assert.ok(maxDiff(hires.latents.data, byHand.latents.data) < 1e-4, `latents differ by ${maxDiff(hires.latents.data, byHand.latents.data)}`);
  assert.ok(maxDiff(hires.image.data, byHand.image.data) < 1e-4);

  assert.deepEqual(steps.map((s) => s.step), Array.from({ length: 14 }, (_, i) => i + 1));
  assert.ok(steps.every((s) => s.total === 14));
  assert.deepEqual([steps[0].latentHeight, steps[13].latentHeight], [16, 24]); // previews follow each pass's size
});

test('Lanczos x2: the first picture as 8 bits (truncated, as A1111), Lanczos to 256x256, encoded, img2img', async () => {
  const hires = await generateHires(runtime, request(), plan({ kind: 'lanczos' }, 2));
  assert.deepEqual(hires.image.shape, [1, 3, 256, 256]);
  const first = await generate(runtime, request());
  const plane = 128 * 128;
  const rgb = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.floor(255 * first.image.data[c * plane + p]);
  const big = lanczosResize({ width: 128, height: 128, channels: 3, data: rgb }, 256, 256);
  const image = new Float32Array(3 * 256 * 256);
  for (let p = 0; p < 256 * 256; p++) for (let c = 0; c < 3; c++) image[c * 256 * 256 + p] = (big.data[p * 3 + c] / 255) * 2 - 1;
  const byHand = await generate(runtime, request({ width: 256, height: 256, steps: 8, init: { image: { shape: [1, 3, 256, 256], data: image }, strength: 0.5 } }));
  assert.ok(maxDiff(hires.latents.data, byHand.latents.data) < 1e-4, `latents differ by ${maxDiff(hires.latents.data, byHand.latents.data)}`);
});

test('a cancel during the second pass stops it within a step', async () => {
  const abort = new AbortController();
  const seen: number[] = [];
  const run = generateHires(runtime, request(), plan({ kind: 'latent', mode: 'nearest', antialias: false }), {
    signal: abort.signal,
    onStep: (u) => {
      seen.push(u.step);
      if (u.step === 12) abort.abort(new Error('cancelled'));
    },
  });
  await assert.rejects(run);
  assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => i + 1));
});
