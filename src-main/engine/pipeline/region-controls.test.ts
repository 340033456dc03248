// Hints tied to a region, through `generate` (the code path of the CLI and the app's jobs). The control residuals
// the UNet receives are read by a ModelRuntime that records them on their way in (the real runtime underneath).
// Checked against an independent float64 computation of the region's feathered mask (a direct 2-D Gaussian of
// sigma feather/3 cut at `feather` pixels, renormalised over the taps inside the picture) and of its area average
// (adaptive average pooling: cell i averages pixels floor(iH/h) .. ceil((i+1)H/h)-1). Hires fix masks the second
// pass by the region resized to the target size.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fixture, referenceJson, relativeError } from '../goldens.test-support.ts';
import { controlShapes } from '../models/unet.ts';
import type { ControlUnit } from './control-units.ts';
import { hiresTarget } from '../../common/hires-contract.ts';
import { generate, GenerateError, type GenerateRequest } from './generate.ts';
import { generateHires } from './hires-fix.ts';
import { ModelRuntime, type LoraUse, type RegionFeeds, type Tensor32 } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';

/** The real runtime, keeping a copy of the control residuals of every UNet evaluation. */
class ControlRecorder extends ModelRuntime {
  controls: (Float32Array[] | null)[] = [];

  override async unet(checkpoint: string, sample: Tensor32, timestep: Float32Array, context: Tensor32, control: Float32Array[] | null, loras: readonly LoraUse[], regions: RegionFeeds | null = null): Promise<Float32Array> {
    this.controls.push(control ? control.map((c) => Float32Array.from(c)) : null);
    return super.unet(checkpoint, sample, timestep, context, control, loras, regions);
  }
}

const runtime = new ControlRecorder('float32', ['cpu']);
after(() => runtime.dispose());

const W = 88; // latent 11 wide: the smaller residuals pool over windows that overlap (11 -> 6 -> 3 -> 2)
const H = 64;
const CHECKPOINT = fixture('tiny-sd15.safetensors');

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  const p = referenceJson().pipeline;
  return { checkpoint: CHECKPOINT, prompt: p.prompt, negative: p.negative, width: W, height: H, steps: 2, cfg: 7.5, seed: 11, sampler: 'euler', clipSkip: 1, controls: [], loras: [], ...overrides };
}

const maskFn = {
  left: (x: number) => (x < 30 ? 1 : x < 44 ? 0.5 : 0),
  right: (x: number) => (x >= 52 ? 1 : 0),
  whole: () => 1,
  empty: () => 0,
};

function region(f: (x: number, y: number) => number, prompt: string, feather: number): RegionRequest {
  const data = Float32Array.from({ length: W * H }, (_, i) => f(i % W, Math.floor(i / W)));
  return { mask: { shape: [1, 1, H, W], data }, prompt, feather, appendMain: false };
}

/** The feathered mask in float64, by a direct 2-D sum (not the engine's two 1-D passes). */
function feathered64(f: (x: number, y: number) => number, feather: number): Float64Array {
  const out = new Float64Array(W * H);
  const sigma = feather / 3;
  const r = Math.ceil(feather);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (feather === 0) {
        out[y * W + x] = f(x, y);
        continue;
      }
      let num = 0;
      let den = 0;
      for (let yy = Math.max(0, y - r); yy <= Math.min(H - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(W - 1, x + r); xx++) {
          const k = Math.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma * sigma));
          num += k * f(xx, yy);
          den += k;
        }
      }
      out[y * W + x] = num / den;
    }
  }
  return out;
}

function pooled64(plane: Float64Array, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [y0, y1, x0, x1] = [Math.floor((i * H) / h), Math.ceil(((i + 1) * H) / h), Math.floor((j * W) / w), Math.ceil(((j + 1) * W) / w)];
      let s = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += plane[y * W + x];
      out[i * w + j] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

const hintAt = (w: number, h: number, f: (x: number, y: number) => number): Tensor32 => ({ shape: [1, 3, h, w], data: Float32Array.from({ length: 3 * w * h }, (_, i) => f(i % w, Math.floor((i % (w * h)) / w))) });
const hint = (f: (x: number, y: number) => number): Tensor32 => hintAt(W, H, f);
const scribble = hint((x, y) => ((x + 2 * y) % 17 < 3 ? 1 : 0));
const blob = hint((x, y) => ((x - 40) ** 2 + (y - 30) ** 2 < 400 ? 1 : 0));
const cn = (path: string, region?: number): ControlUnit => ({ kind: 'controlnet', path: fixture(path), image: scribble, weight: 1, start: 0, end: 1, region });
const ctrlora = (region?: number): ControlUnit => ({ kind: 'ctrlora', base: fixture('tiny-ctrlora-base.ckpt'), path: fixture('tiny-ctrlora-edge.ckpt'), image: blob, weight: 0.8, start: 0, end: 1, region });

/** The control residuals of the first UNet evaluation of a run. */
async function firstControl(req: GenerateRequest): Promise<Float32Array[]> {
  runtime.controls = [];
  await generate(runtime, req);
  const first = runtime.controls[0];
  assert.ok(first, 'the first UNet evaluation got control residuals');
  return first;
}

const regions = () => [region((x) => maskFn.left(x), 'a red dragon', 6), region((x) => maskFn.right(x), 'a castle', 0)];
const shapes = () => controlShapes(runtime.config(CHECKPOINT).unet, 2, H / 8, W / 8);

test('a tied ControlNet: the residuals the UNet gets are its own times the feathered mask, area-averaged, plus the untied unit', async () => {
  const tied = await firstControl(request({ regions: regions(), controls: [cn('tiny-controlnet.safetensors', 0), cn('tiny-controlnet-b.safetensors')] }));
  const a = await firstControl(request({ regions: regions(), controls: [cn('tiny-controlnet.safetensors')] }));
  const b = await firstControl(request({ regions: regions(), controls: [cn('tiny-controlnet-b.safetensors')] }));
  const plane = feathered64((x) => maskFn.left(x), 6);
  const all = shapes();
  assert.equal(tied.length, all.length);
  let checked = 0;
  all.forEach(([, , h, w], i) => {
    const m = pooled64(plane, h, w);
    const expected = Float64Array.from(a[i], (v, j) => v * m[j % (h * w)] + b[i][j]);
    const err = relativeError(tied[i], expected);
    assert.ok(err < 1e-6, `residual ${i} [${h}x${w}]: ${err}`);
    assert.ok(relativeError(tied[i], Float64Array.from(a[i], (v, j) => v + b[i][j])) > 1e-2, `residual ${i}: the mask must change it`);
    checked++;
  });
  assert.equal(checked, 13);
});

test('a tied CtrLoRA condition: residuals zero where its hard-edged region is absent, its own inside', async () => {
  const tied = await firstControl(request({ regions: regions(), controls: [ctrlora(1)] }));
  const own = await firstControl(request({ regions: regions(), controls: [ctrlora()] }));
  const plane = feathered64((x) => maskFn.right(x), 0);
  shapes().forEach(([, , h, w], i) => {
    const m = pooled64(plane, h, w);
    assert.ok(relativeError(tied[i], Float64Array.from(own[i], (v, j) => v * m[j % (h * w)])) < 1e-6, `residual ${i}`);
    // cells wholly left of the region get nothing at all
    const outside = [...m.keys()].filter((j) => m[j] === 0);
    assert.ok(outside.length > 0 || w <= 2, `residual ${i} has cells outside the region`);
    for (let j = 0; j < tied[i].length; j++) if (m[j % (h * w)] === 0) assert.ok(tied[i][j] === 0, `residual ${i}[${j}] = ${tied[i][j]} outside the region`);
  });
});

test('a tie to a region covering the whole picture gives exactly the untied latents', async () => {
  const both = [region(maskFn.whole, 'a red dragon', 12), region((x) => maskFn.right(x), 'a castle', 0)];
  const untied = await generate(runtime, request({ regions: both, controls: [cn('tiny-controlnet.safetensors'), ctrlora()] }));
  const tied = await generate(runtime, request({ regions: both, controls: [cn('tiny-controlnet.safetensors', 0), ctrlora(0)] }));
  assert.deepEqual(tied.latents.data, untied.latents.data);
  const none = await generate(runtime, request({ regions: both }));
  assert.ok(relativeError(tied.latents.data, none.latents.data) > 1e-3, 'the hints must matter for this test to mean anything');
});

test('a hint tied to an empty region is skipped with a message; the rest runs as without it', async () => {
  const withEmpty = [region(maskFn.empty, 'nothing', 4), region((x) => maskFn.left(x), 'a red dragon', 6)];
  const result = await generate(runtime, request({ regions: withEmpty, controls: [cn('tiny-controlnet.safetensors', 0), ctrlora(1)] }));
  const without = await generate(runtime, request({ regions: withEmpty, controls: [ctrlora(1)] }));
  assert.deepEqual(result.latents.data, without.latents.data);
  assert.deepEqual(result.messages, ['hint 1 (tiny-controlnet.safetensors) is tied to region 1 ("nothing"), whose mask is empty: the hint is skipped']);
});

test('a tie to a region that does not exist is a bad request naming the field', async () => {
  const cases: [Partial<GenerateRequest>, RegExp][] = [
    [{ regions: regions(), controls: [ctrlora(), cn('tiny-controlnet.safetensors', 2)] }, /^controls\[1\]\.region 2 names no region: the generation has 2 \(0 to 1\)$/],
    [{ controls: [cn('tiny-controlnet.safetensors', 0)] }, /^controls\[0\]\.region 0 names no region: the generation has none$/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(generate(runtime, request(extra)), (err: unknown) => err instanceof GenerateError && err.kind === 'bad-request' && message.test(err.message));
  }
});

test('hires fix: the second pass masks a tied hint by its region at the target size', async () => {
  const target = hiresTarget(W, H, { scale: 2, resizeWidth: 0, resizeHeight: 0 });
  assert.deepEqual([target.width, target.height], [2 * W, 2 * H]);
  const big = hintAt(target.width, target.height, (x, y) => ((x + 2 * y) % 23 < 5 ? 1 : 0));
  const run = async (region?: number) => {
    runtime.controls = [];
    const plan = { target, upscale: { kind: 'latent', mode: 'bilinear', antialias: false } as const, steps: 2, denoise: 0.5, controls: [{ ...cn('tiny-controlnet.safetensors', region), image: big }] };
    const result = await generateHires(runtime, request({ regions: regions(), controls: [cn('tiny-controlnet.safetensors', region)] }), plan);
    return { latents: result.latents.data, last: runtime.controls.at(-1)! }; // the last evaluation is the second pass's
  };
  const tied = await run(1); // the region right of x = 52 (x = 104 at the target size)
  const untied = await run();
  const levels = controlShapes(runtime.config(CHECKPOINT).unet, 2, target.height / 8, target.width / 8);
  let zeros = 0;
  levels.forEach(([b, c, h, w], i) => {
    for (let j = 0; j < w; j++) {
      if (Math.ceil(((j + 1) * target.width) / w) > 96) continue; // cells whose pixels all lie left of x = 96
      let moved = 0;
      for (let row = 0; row < b * c * h; row++) {
        assert.ok(tied.last[i][row * w + j] === 0, `residual ${i}, column ${j}: nothing left of the region`);
        if (untied.last[i][row * w + j] !== 0) moved++;
      }
      assert.ok(moved > 0, `residual ${i}, column ${j}: the untied hint steers there`);
      zeros++;
    }
  });
  assert.ok(zeros >= 13, `${zeros} columns checked`);
  assert.ok(relativeError(tied.latents, untied.latents) > 1e-3);
});
