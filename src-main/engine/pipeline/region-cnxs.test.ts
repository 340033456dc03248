// A ControlNet-XS tied to a region, through `generate` (the CLI's and the app's code path): the runtime feeds the
// fused graph the region's feathered plane pooled to each infusion size (models/cnxs.ts). Checked by identities
// against runs that do not use the feature: a region covering the picture gives the untied latents; a region of
// constant 0.5 (no feather) gives the untied XS at half the weight; a region over the left part is neither.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { fixture, referenceJson, relativeError } from '../goldens.test-support.ts';
import type { ControlUnit } from './control-units.ts';
import { generate, type GenerateRequest } from './generate.ts';
import { ModelRuntime, type Tensor32 } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';

const runtime = new ModelRuntime('float32', ['cpu']);
after(() => runtime.dispose());

const W = 88; // latent 11 wide: the smaller infusions pool over windows that overlap (11 -> 6 -> 3 -> 2)
const H = 64;

function region(f: (x: number) => number, prompt: string, feather: number): RegionRequest {
  const data = Float32Array.from({ length: W * H }, (_, i) => f(i % W));
  return { mask: { shape: [1, 1, H, W], data }, prompt, feather, appendMain: false };
}

// The same regions in every run, so that regional prompting is alike and only the tie differs.
const REGIONS = [region(() => 1, 'a red dragon', 12), region(() => 0.5, 'a castle', 0), region((x) => (x < 40 ? 1 : 0), 'a tree', 6)];

const scribble: Tensor32 = { shape: [1, 3, H, W], data: Float32Array.from({ length: 3 * W * H }, (_, i) => ((i % W) + 2 * Math.floor((i % (W * H)) / W)) % 17 < 3 ? 1 : 0) };
const xs = (weight: number, region?: number): ControlUnit => ({ kind: 'cnxs', path: fixture('tiny-cnxs.ckpt'), image: scribble, weight, start: 0, end: 1, region });

async function latents(controls: ControlUnit[]): Promise<Float32Array> {
  const p = referenceJson().pipeline;
  const req: GenerateRequest = { checkpoint: fixture('tiny-sd15.safetensors'), prompt: p.prompt, negative: p.negative, width: W, height: H, steps: 2, cfg: 7.5, seed: 11, sampler: 'euler', clipSkip: 1, controls, loras: [], regions: REGIONS };
  const result = await generate(runtime, req);
  assert.deepEqual(result.messages, []);
  return result.latents.data;
}

test('a ControlNet-XS tied to a region: whole picture = untied, constant 0.5 = untied at half weight, a part = neither', async () => {
  const untied = await latents([xs(1)]);
  const whole = await latents([xs(1, 0)]);
  assert.ok(relativeError(whole, untied) < 1e-6, `whole picture: ${relativeError(whole, untied)}`);

  const half = await latents([xs(1, 1)]);
  const halfWeight = await latents([xs(0.5)]);
  assert.ok(relativeError(half, halfWeight) < 1e-6, `constant 0.5: ${relativeError(half, halfWeight)}`);
  assert.ok(relativeError(half, untied) > 1e-3, 'half the weight must matter for this identity to mean anything');

  const none = await latents([]);
  const left = await latents([xs(1, 2)]);
  for (const [name, other] of [['untied', untied], ['without the XS', none], ['the constant mask', half]] as const) {
    assert.ok(relativeError(left, other) > 1e-3, `tied to the left part differs from ${name}: ${relativeError(left, other)}`);
  }
});
