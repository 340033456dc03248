// A ControlNet-XS tied to a region, at graph level: every control -> base infusion is multiplied by the mask input
// of its size. Checked by identities against graphs that do not use the feature: a mask of ones is the untied
// XS, a mask of zeros the UNet without the XS, a constant mask c the untied XS at weight c; a half mask differs
// from each. The untied graph keeps exactly its old inputs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import type { TensorData } from '../runtime/session.ts';
import { fixture, fixtureFile, golden, relativeError, runOnCpu, unetFeeds } from '../goldens.test-support.ts';
import { buildCnxsUnetGraph, CNXS_REGION_MASK_PREFIX, cnxsRegionMaskName } from './cnxs.ts';
import { buildUnetGraph } from './unet.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const shape = { batch: 2, height: 32, width: 32, tokens: 77 };
/** The infusion sizes of the tiny UNet at a 32 x 32 latent: its three downsamplings halve it thrice. */
const SIZES = [32, 16, 8, 4];

let cnxs: TensorFile;
before(() => (cnxs = openTensorFile(fixture('tiny-cnxs.ckpt'))));
after(() => cnxs.close());

const hintFeeds = (weight: number) => {
  const hint = golden('cnxs.hint', 'control.safetensors');
  return { ...unetFeeds(), hint: f32(hint.shape, hint.data), weight: f32([1], Float32Array.of(weight)) };
};

/** Feeds for every mask size, the mask at each pixel (x, y) of an s x s grid given by `f(x / s, y / s)`. */
function maskFeeds(f: (u: number, v: number) => number): Record<string, TensorData> {
  return Object.fromEntries(SIZES.map((s) => [cnxsRegionMaskName(s, s), f32([1, 1, s, s], Float32Array.from({ length: s * s }, (_, i) => f((i % s) / s, Math.floor(i / s) / s)))]));
}

async function xsEps(tied: boolean, weight: number, masks: Record<string, TensorData> = {}): Promise<Float32Array> {
  const { eps } = buildCnxsUnetGraph(fixtureFile('tiny-sd15.safetensors'), cnxs, { ...shape, regionMasked: tied });
  return (await runOnCpu({ eps }, { ...hintFeeds(weight), ...masks })).eps;
}

test('the untied graph has only its own inputs; the tied one adds one mask input per infusion size', () => {
  const names = (tied: boolean) => buildCnxsUnetGraph(fixtureFile('tiny-sd15.safetensors'), cnxs, { ...shape, regionMasked: tied }).graph.inputs.map((n) => String(n.attrs.name));
  assert.deepEqual(names(false).sort(), ['context', 'hint', 'sample', 'timestep', 'weight']);
  const tied = names(true);
  assert.deepEqual(tied.filter((n) => n.startsWith(CNXS_REGION_MASK_PREFIX)).sort(), SIZES.map((s) => cnxsRegionMaskName(s, s)).sort());
  assert.equal(tied.length, 5 + SIZES.length);
});

test('a tied XS: mask of ones = untied XS, zeros = the UNet alone, constant c = untied at weight c; a half mask is none of them', async () => {
  const untied = await xsEps(false, 1);
  const ones = await xsEps(true, 1, maskFeeds(() => 1));
  assert.ok(relativeError(ones, untied) < 1e-6, `ones: ${relativeError(ones, untied)}`);

  const { eps: plain } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), shape);
  const unet = (await runOnCpu({ eps: plain }, unetFeeds())).eps;
  const zeros = await xsEps(true, 1, maskFeeds(() => 0));
  assert.ok(relativeError(zeros, unet) < 1e-6, `zeros: ${relativeError(zeros, unet)}`);
  assert.ok(relativeError(untied, unet) > 1e-2, 'the XS must matter for these identities to mean anything');

  const c = 0.37;
  const constant = await xsEps(true, 1, maskFeeds(() => c));
  const weighted = await xsEps(false, c);
  assert.ok(relativeError(constant, weighted) < 1e-6, `constant: ${relativeError(constant, weighted)}`);

  const half = await xsEps(true, 1, maskFeeds((u) => (u < 0.5 ? 1 : 0)));
  for (const [name, other] of [['untied', untied], ['the UNet alone', unet], ['the constant mask', constant]] as const) {
    assert.ok(relativeError(half, other) > 1e-3, `the half mask differs from ${name}: ${relativeError(half, other)}`);
  }
});
