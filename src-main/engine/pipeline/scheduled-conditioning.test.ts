// Prompt editing through `generate` (the code path of the CLI and the engine's jobs), checked against an
// independent two-stage computation: the sampler's loop run by hand with classifier-free guidance on the UNet,
// prompt A's context (encodePromptPair) for the denoiser calls A1111 gives to A and prompt B's for the rest.
// A1111 counts denoiser calls from 0 and keeps an entry while the counter is <= its end step, so [A:B:0.5] at
// 10 steps gives A to calls 0..5 (six calls) and B to calls 6..9.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createSampler } from '../../generation/samplers/index.ts';
import type { SamplerKind } from '../../generation/samplers/sampler.ts';
import { TorchGenerator } from '../../generation/torch-rng.ts';
import { fixture, golden } from '../goldens.test-support.ts';
import { batchOf, encodePromptPair } from './conditioning.ts';
import { generate, type GenerateRequest } from './generate.ts';
import { ModelRuntime, type Tensor32 } from './model-runtime.ts';
import { ScheduledConditioning, scheduleSteps } from './scheduled-conditioning.ts';

const runtime = new ModelRuntime('float32', ['cpu']);
after(() => runtime.dispose());

const checkpoint = fixture('tiny-sd15.safetensors');
const A = 'a photograph of an astronaut riding a horse';
const B = 'a watercolor painting of a red fox, (snow:1.3)';
const NEGATIVE = 'blurry';
const SIZE = 64;

function request(prompt: string, overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    checkpoint,
    prompt,
    negative: NEGATIVE,
    width: SIZE,
    height: SIZE,
    steps: 10,
    cfg: 7.5,
    seed: 1234,
    sampler: 'ddim',
    clipSkip: 1,
    controls: [],
    loras: [],
    ...overrides,
  };
}

interface Img2Img {
  image: Tensor32; // [1, 3, H, W] in [-1, 1]
  strength: number;
}

/** The generation by hand: A's context while `useA(call)`, else B's; txt2img, or img2img from `init`. */
async function twoStage(sampler: SamplerKind, useA: (call: number) => boolean, init?: Img2Img, size = SIZE): Promise<Float32Array> {
  const opts = { clipSkip: 1 as const, loras: [] };
  const a = await encodePromptPair(runtime, checkpoint, A, NEGATIVE, opts);
  const b = await encodePromptPair(runtime, checkpoint, B, NEGATIVE, opts);
  const contexts = { a: batchOf([a.uncond, a.cond]), b: batchOf([b.uncond, b.cond]) };
  const shape = [1, 4, size / 8, size / 8];
  const generator = new TorchGenerator(1234);
  const noise = generator.randn(shape);
  const s = createSampler(sampler, 10);
  let startStep = 0;
  let initLatents: Float32Array | undefined;
  if (init) {
    initLatents = (await runtime.vaeEncode(checkpoint, init.image)).data;
    startStep = 10 - Math.floor(10 * init.strength); // diffusers' t_start
  }
  return s.sample({
    noise,
    generator,
    startStep,
    initLatents,
    denoise: async (input, timestep, call) => {
      const sample = batchOf([{ shape, data: input }, { shape, data: input }]);
      const context = useA(call) ? contexts.a : contexts.b;
      const eps = await runtime.unet(checkpoint, sample, Float32Array.of(timestep, timestep), context, null, []);
      const n = input.length;
      return input.map((_, i) => eps[i] + 7.5 * (eps[n + i] - eps[i]));
    },
  });
}

for (const sampler of ['ddim', 'euler_a'] as const) {
  test(`${sampler}: [A:B:0.5] at 10 steps gives exactly A for denoiser calls 0..5 and B after`, async () => {
    const result = await generate(runtime, request(`[${A}:${B}:0.5]`, { sampler }));
    const expected = await twoStage(sampler, (call) => call <= 5);
    assert.deepEqual(result.latents.data, expected);
    // and the switch matters: all-A differs
    const allA = await twoStage(sampler, () => true);
    assert.notDeepEqual(result.latents.data, allA);
  });
}

test('DPM++ SDE (two calls per step): A1111 schedules over 2 x 10 = 20 calls, so [A:B:0.5] switches after call 10', async () => {
  assert.equal(scheduleSteps(10, createSampler('dpmpp_sde_karras', 10).order), 20);
  const result = await generate(runtime, request(`[${A}:${B}:0.5]`, { sampler: 'dpmpp_sde_karras' }));
  assert.deepEqual(result.latents.data, await twoStage('dpmpp_sde_karras', (call) => call <= 10));
});

test('img2img: the schedule spans all 10 steps but the counter starts at the first call run (A1111), [A:B:0.3] switches after call 3', async () => {
  const image = golden('vae.image');
  const init = { image: { shape: [...image.shape], data: image.data }, strength: 0.6 };
  const size = image.shape[3]; // the golden init image is square
  // strength 0.6 runs 6 of the 10 steps (calls 0..5); 0.3 x 10 = 3: A for calls 0..3, B for 4 and 5
  const result = await generate(runtime, request(`[${A}:${B}:0.3]`, { init, width: size, height: size }));
  assert.deepEqual(result.latents.data, await twoStage('ddim', (call) => call <= 3, init, size));
});

test('a schedule that never switches gives bit-identical latents to the plain prompt', async () => {
  const plain = await generate(runtime, request(A, { negative: NEGATIVE }));
  // 99 is clamped to the 10 steps and 1.0 x 10 = 10: both edits keep their first text for the whole run
  const scheduled = await generate(runtime, request(`[${A}:${B}:99]`, { negative: `[${NEGATIVE}:other:1.0]` }));
  assert.deepEqual(scheduled.latents.data, plain.latents.data);
  assert.deepEqual(scheduled.image.data, plain.image.data);
});

test('the text encoder runs once per distinct text: alternation over 10 steps encodes 4 texts, not 20', async () => {
  const c = await ScheduledConditioning.prepare(runtime, checkpoint, `[${A}|${B}]`, `[${NEGATIVE}:bad:0.5]`, 10, { clipSkip: 1, loras: [] });
  for (let call = 0; call < 10; call++) await c.contextAt(call);
  // cond A, cond B, uncond "blurry" (calls 0..5), uncond "bad" (calls 6..9): four texts, each encoded once
  assert.equal(c.encoderRuns, 4);
  assert.equal(await c.contextAt(2), await c.contextAt(4)); // same pair (A, blurry): the same context object
});
