// Each region is feathered once per generation and each pooled size of its mask is averaged once, however many
// paths read it: the region's LoRAs (the region-LoRA mask inputs), a ControlNet tied to it (its residuals) and a
// ControlNet-XS tied to it (its infusions). Checked through `generate` on the real runtime, with node:test's
// method spies on RegionMask recording (not replacing) the one blur per region and every pooled-size request.
// The values themselves are checked elsewhere: region-controls.test.ts against a float64 feather and pooling,
// region-loras.test.ts against the LoRA applied globally.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import { fixture } from '../goldens.test-support.ts';
import type { ControlUnit } from './control-units.ts';
import { featherRegions, RegionMask } from './feathered-regions.ts';
import { generate, GenerateError, type GenerateRequest } from './generate.ts';
import { ModelRuntime } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';
import { goldenRequest, paintedRegion } from './golden-request.test-support.ts';

/** The real runtime, keeping the region mask each fused UNet+XS evaluation was handed. */
class XsMaskRecorder extends ModelRuntime {
  xsMasks: unknown[] = [];

  override cnxsUnet(...args: Parameters<ModelRuntime['cnxsUnet']>): Promise<Float32Array> {
    this.xsMasks.push(args[10] ?? null); // regionMask
    return super.cnxsUnet(...args);
  }
}

const runtime = new XsMaskRecorder('float32', ['cpu']);
after(() => runtime.dispose());

const SIZE = 64;
const LORA = fixture('tiny-lora.safetensors');

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return goldenRequest({ width: SIZE, height: SIZE, steps: 2, cfg: 7.5, seed: 3, sampler: 'euler', ...overrides });
}

function region(f: (x: number, y: number) => number, prompt: string, extra: Partial<RegionRequest> = {}): RegionRequest {
  return paintedRegion(SIZE, f, prompt, extra);
}

const hint = { shape: [1, 3, SIZE, SIZE], data: Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => ((i % SIZE) % 9 < 2 ? 1 : 0)) };
const tied = (kind: 'controlnet' | 'cnxs', path: string, r: number): ControlUnit => ({ kind, path: fixture(path), image: hint, weight: 0.8, start: 0, end: 1, region: r });

/** Spies on the one blur per region and on every pooled-size request, for one test. */
function spyOnMasks(t: TestContext) {
  const feathered = t.mock.method(RegionMask, 'feathered');
  const at = t.mock.method(RegionMask.prototype, 'at');
  return {
    made: () => feathered.mock.calls.map((c) => c.result as RegionMask),
    /** Who was asked for which size, and what it returned. */
    asked: () => at.mock.calls.map((c) => ({ mask: c.this as RegionMask, size: `${c.arguments[0]}x${c.arguments[1]}`, result: c.result as Float32Array })),
  };
}

/** Every request for one size of one mask got the same array: that size was averaged once. The sizes of `mask`. */
function assertPooledOnce(asked: { mask: RegionMask; size: string; result: Float32Array }[], mask: RegionMask): number {
  const first = new Map<string, Float32Array>();
  for (const a of asked.filter((x) => x.mask === mask)) {
    const seen = first.get(a.size);
    if (!seen) first.set(a.size, a.result);
    else assert.ok(seen === a.result, `size ${a.size} was averaged again`);
  }
  return first.size;
}

const left = (x: number) => (x < 36 ? 1 : 0);
const right = (x: number) => (x >= 40 ? 1 : 0);

test('a region LoRA reads its mask from the region\'s one feathered RegionMask', async (t) => {
  const spy = spyOnMasks(t);
  await generate(runtime, request({ regions: [region(left, 'a red dragon', { feather: 6, loras: [{ path: LORA, strength: 1 }] })] }));
  const made = spy.made();
  assert.equal(made.length, 1, 'one blur for one region');
  const asked = spy.asked();
  assert.ok(asked.length > 0, 'the LoRA path pools the shared mask');
  assert.ok(asked.every((a) => a.mask === made[0]));
  assert.ok(assertPooledOnce(asked, made[0]) >= 2, 'the LoRA masks come at more than one level size');
});

test('a region with LoRAs, a ControlNet and a ControlNet-XS tied to it is feathered once, each pooled size averaged once', async (t) => {
  const spy = spyOnMasks(t);
  runtime.xsMasks = [];
  const regions = [
    region(() => 0, 'nothing'), // empty: skipped, nothing to feather
    region(left, 'a red dragon', { feather: 6, loras: [{ path: LORA, strength: 1 }] }),
    region(right, 'a castle', { feather: 3 }), // no LoRA, no hint: only its normalised weight is used
  ];
  const result = await generate(runtime, request({ regions, controls: [tied('controlnet', 'tiny-controlnet.safetensors', 1), tied('cnxs', 'tiny-cnxs.ckpt', 1)] }));
  assert.deepEqual(result.messages, []);
  const made = spy.made();
  assert.equal(made.length, 2, 'one blur per region that is not empty');
  assert.deepEqual(made.map((m) => m.plane.width), [SIZE, SIZE]);
  // the ControlNet-XS was handed the very mask object that was made for region 2
  assert.ok(runtime.xsMasks.length > 0 && runtime.xsMasks.every((m) => m === made[0]), 'the XS gets the region\'s one mask');
  // the region-LoRA mask input is [R, 2, h, w], region 3's slice included (unread: it has no LoRA), so both are pooled
  const asked = spy.asked();
  assert.ok(asked.every((a) => made.includes(a.mask)), 'every pooled size comes from a mask made once');
  // the ControlNet's 13 residuals alone come at 4 sizes on a 64x64 picture (8, 4, 2, 1 latent cells wide)
  assert.ok(assertPooledOnce(asked, made[0]) >= 4);
  assertPooledOnce(asked, made[1]);
});

test('the masks are checked before anything is feathered: wrong size, bad feather, too many regions', () => {
  const ok = region(left, 'a');
  const small = { ...ok, mask: { shape: [1, 1, SIZE / 2, SIZE], data: new Float32Array((SIZE * SIZE) / 2) } };
  const cases: [RegionRequest[], RegExp][] = [
    [[ok, small], /^region 2: mask is 64x32, the generation 64x64$/],
    [[{ ...ok, feather: 300 }], /^region 1: feather 300 must be from 0 to 256 pixels$/],
    [Array.from({ length: 99 }, () => ok), /^99 regions: at most \d+ can steer a generation$/],
  ];
  for (const [regions, message] of cases) {
    assert.throws(() => featherRegions(regions, SIZE, SIZE), (err: unknown) => err instanceof GenerateError && err.kind === 'bad-request' && message.test(err.message));
  }
  const masks = featherRegions([region(() => 0, 'empty'), ok], SIZE, SIZE);
  assert.equal(masks[0], null);
  assert.ok(masks[1] instanceof RegionMask);
});
