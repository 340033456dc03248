// A region LoRA through hires fix: the second pass rebuilds the region's mask at its own size (hires-fix.ts resizes
// the painted mask; feathered-regions.ts feathers it once for that pass), and the LoRA's masked deltas act at the
// second pass's level sizes. A region covering the whole picture with a LoRA gives, through both passes, the
// latents and picture of that LoRA applied globally with the region's prompt (as region-loras.test.ts shows for one
// pass, to the same tolerance); a region on half the picture gives a third result, between the two.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { hiresTarget } from '../../common/hires-contract.ts';
import { fixture, relativeError } from '../goldens.test-support.ts';
import { RegionMask } from './feathered-regions.ts';
import type { GenerateRequest } from './generate.ts';
import { generateHires, type HiresPlan } from './hires-fix.ts';
import { ModelRuntime } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';
import { goldenRequest, paintedRegion } from './golden-request.test-support.ts';

const runtime = new ModelRuntime('float32', ['cpu']);
after(() => runtime.dispose());

const SIZE = 64;
const OTHER = 'a castle on a hill at dusk, oil painting';
const LORA = fixture('tiny-lora.safetensors');

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return goldenRequest({ width: SIZE, height: SIZE, steps: 4, cfg: 7.5, seed: 7, sampler: 'euler', ...overrides });
}

function region(f: (x: number, y: number) => number, prompt: string, extra: Partial<RegionRequest> = {}): RegionRequest {
  return paintedRegion(SIZE, f, prompt, extra);
}

/** x2 with the bilinear latent upscale, 3 second-pass steps at denoise 0.6. */
const plan: HiresPlan = {
  target: hiresTarget(SIZE, SIZE, { scale: 2, resizeWidth: 0, resizeHeight: 0 }),
  upscale: { kind: 'latent', mode: 'bilinear', antialias: false },
  steps: 3,
  denoise: 0.6,
  controls: [],
};

test('hires fix: a whole-picture region with a LoRA gives the latents and picture of that LoRA applied globally', async (t) => {
  const loras = [{ path: LORA, strength: 1 }];
  const global = await generateHires(runtime, request({ prompt: OTHER, loras }), plan);
  assert.deepEqual(global.latents.shape, [1, 4, 16, 16]);
  const feathered = t.mock.method(RegionMask, 'feathered');
  const regional = await generateHires(runtime, request({ regions: [region(() => 1, `${OTHER} <lora:tiny-lora:1>`, { feather: 10, loras })] }), plan);
  // one blur per pass, each at its pass's size, the feather scaled with the picture
  assert.deepEqual(feathered.mock.calls.map((c) => [c.arguments[0].width, c.arguments[0].height, c.arguments[1]]), [[SIZE, SIZE, 10], [2 * SIZE, 2 * SIZE, 20]]);
  const err = relativeError(regional.latents.data, global.latents.data);
  assert.ok(err < 1e-5, `whole-picture region LoRA vs global LoRA through hires fix: ${err}`);
  const imageErr = relativeError(regional.image.data, global.image.data);
  assert.ok(imageErr < 1e-5, `pictures: ${imageErr}`);
  const withoutLora = await generateHires(runtime, request({ prompt: OTHER }), plan);
  assert.ok(relativeError(withoutLora.latents.data, global.latents.data) > 1e-3, 'the LoRA must change the picture for this test to mean anything');
  // a region LoRA on the left half only: the picture differs from both, so the mask, not the whole picture, places it
  const half = await generateHires(runtime, request({ regions: [region((x) => (x < SIZE / 2 ? 1 : 0), `${OTHER} <lora:tiny-lora:1>`, { feather: 4, loras }), region((x) => (x < SIZE / 2 ? 0 : 1), OTHER)] }), plan);
  assert.ok(relativeError(half.latents.data, global.latents.data) > 1e-3, 'half the picture without the LoRA differs from all of it with');
  assert.ok(relativeError(half.latents.data, withoutLora.latents.data) > 1e-3, 'half the picture with the LoRA differs from none of it');
});
