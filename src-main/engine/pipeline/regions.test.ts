// Regional prompting through `generate`, the code path the CLI and the app's jobs take: a region covering the whole
// picture gives the latents of its prompt alone (exact: the main prompt's weight is 0 everywhere); regions that
// repeat the main prompt change nothing; empty regions are skipped and named; masks of the wrong size are refused.
// The per-layer numerics are checked against an independent computation in models/regional-attention.test.ts, the
// final latents through the CLI in cli/regions-independent.test.ts.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fixture, relativeError } from '../goldens.test-support.ts';
import { generate, type GenerateRequest } from './generate.ts';
import { ModelRuntime } from './model-runtime.ts';
import { MAX_REGIONS, type RegionRequest } from './regions.ts';
import type { ControlUnit } from './control-units.ts';
import { goldenRequest, paintedRegion } from './golden-request.test-support.ts';

const runtimes = {
  fused: new ModelRuntime('float32', ['cpu']),
  plain: new ModelRuntime('float32', ['cpu'], { cpu: {} }),
};
after(() => Promise.all(Object.values(runtimes).map((r) => r.dispose())));

const SIZE = 128;
const OTHER = 'a castle on a hill at dusk, oil painting';

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return goldenRequest({ width: SIZE, height: SIZE, steps: 4, cfg: 7.5, seed: 7, sampler: 'euler', ...overrides });
}

function region(f: (x: number, y: number) => number, prompt: string, feather = 0, appendMain = false): RegionRequest {
  return paintedRegion(SIZE, f, prompt, { feather, appendMain });
}

for (const [graphs, runtime] of Object.entries(runtimes)) {
  test(`${graphs} graphs: a feathered region covering the whole picture gives the latents of its prompt alone`, async () => {
    const alone = await generate(runtime, request({ prompt: OTHER }));
    const regional = await generate(runtime, request({ regions: [region(() => 1, OTHER, 12)] }));
    const plain = await generate(runtime, request());
    const err = relativeError(regional.latents.data, alone.latents.data);
    assert.ok(err < 1e-6, `whole-picture region vs its prompt alone: ${err}`);
    assert.ok(relativeError(plain.latents.data, alone.latents.data) > 1e-2, 'the two prompts must differ for this test to mean anything');
  });
}

test('every kind of generation takes regions: ControlNet, CtrLoRA, ControlNet-XS (their cross-attention too), img2img, inpainting, the LCM sampler', async () => {
  const hint = { shape: [1, 3, SIZE, SIZE], data: Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => ((i % SIZE) > SIZE / 2 ? 1 : 0)) };
  const unit = (kind: ControlUnit['kind'], path: string): ControlUnit =>
    kind === 'ctrlora'
      ? { kind, base: fixture('tiny-ctrlora-base.ckpt'), path, image: hint, weight: 0.8, start: 0, end: 1 }
      : { kind, path, image: hint, weight: 0.8, start: 0, end: 1 };
  const init = { image: { shape: [1, 3, SIZE, SIZE], data: Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => Math.sin(i / 50)) }, strength: 0.7 };
  const cases: [string, Partial<GenerateRequest>][] = [
    ['ControlNet', { controls: [unit('controlnet', fixture('tiny-controlnet.safetensors'))] }],
    ['CtrLoRA', { controls: [unit('ctrlora', fixture('tiny-ctrlora-edge.ckpt'))] }],
    ['ControlNet-XS', { controls: [unit('cnxs', fixture('tiny-cnxs.ckpt'))] }],
    ['img2img', { init }],
    ['inpainting', { init, mask: { shape: [1, 1, SIZE, SIZE], data: Float32Array.from({ length: SIZE * SIZE }, (_, i) => (i % SIZE < 64 ? 1 : 0)) } }],
    ['lcm', { sampler: 'lcm', cfg: 1.5 }],
  ];
  for (const [name, extra] of cases) {
    const alone = await generate(runtimes.fused, request({ ...extra, prompt: OTHER }));
    const regional = await generate(runtimes.fused, request({ ...extra, regions: [region(() => 1, OTHER, 5)] }));
    const err = relativeError(regional.latents.data, alone.latents.data);
    assert.ok(err < 1e-6, `${name}: whole-picture region vs its prompt alone: ${err}`);
  }
});

test('regions that repeat the main prompt change nothing; another prompt in a region changes the picture', async () => {
  const base = request();
  const plain = await generate(runtimes.fused, base);
  const left = (x: number) => (x < SIZE / 2 ? 1 : 0);
  const same = await generate(runtimes.fused, request({ regions: [region(left, base.prompt, 8), region((_, y) => (y < 40 ? 0.5 : 0), base.prompt)] }));
  assert.ok(relativeError(same.latents.data, plain.latents.data) < 1e-5);
  const other = await generate(runtimes.fused, request({ regions: [region(left, OTHER)] }));
  assert.ok(relativeError(other.latents.data, plain.latents.data) > 1e-3);
});

test('an empty region is skipped and named; nothing left is a plain generation', async () => {
  const skipped: string[] = [];
  const plain = await generate(runtimes.fused, request());
  const out = await generate(runtimes.fused, request({ regions: [region(() => 0, 'nothing here')] }), { onRegionSkipped: (_, p) => skipped.push(p) });
  assert.deepEqual(skipped, ['nothing here']);
  assert.deepEqual(out.latents.data, plain.latents.data);
});

test('masks of another size and too many regions are refused with the reason', async () => {
  const wrong: RegionRequest = { mask: { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64).fill(1) }, prompt: 'x', feather: 0, appendMain: false };
  await assert.rejects(generate(runtimes.fused, request({ regions: [wrong] })), /region 1: mask is 64x64, the generation 128x128/);
  const many = Array.from({ length: MAX_REGIONS + 1 }, () => region(() => 1, 'x'));
  await assert.rejects(generate(runtimes.fused, request({ regions: many })), new RegExp(`at most ${MAX_REGIONS}`));
});
