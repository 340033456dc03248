// Samplers driven by an ideal denoiser that knows the clean latents x0: the eps it returns is exactly the noise
// in its input, so every sampler must land on x0 (or, where the schedule stops above sigma 0, on x0 noised to
// that final level). The real pipelines are checked against pipe.* goldens end to end by the engine's tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SAMPLER_KINDS, createSampler, samplerFromA1111, type DenoiseFn, type SamplerKind } from './index.ts';
import { alphasCumprod, SD15_SCHEDULE, trainingSigmas } from './schedule.ts';
import { TorchGenerator } from '../torch-rng.ts';
import { relativeError } from '../goldens.test-support.ts';

const SIZE = 4 * 8 * 8; // [1, 4, 8, 8]
const x0 = new TorchGenerator(1).randn([1, 4, 8, 8]).map((v) => 0.8 * v);
const noise = new TorchGenerator(2).randn([1, 4, 8, 8]);
const table = trainingSigmas(alphasCumprod(SD15_SCHEDULE));

/** eps of an input alpha x0 + sigma_vp eps, knowing x0 and the input's sigma. */
function oracle(clean: Float32Array, output: 'eps' | 'v' = 'eps'): DenoiseFn & { calls: number[] } {
  const calls: number[] = [];
  const fn = async (input: Float32Array, timestep: number, stepIndex: number, info: { sigma: number }) => {
    calls.push(timestep);
    assert.equal(stepIndex, calls.length - 1);
    const alpha = 1 / Math.sqrt(1 + info.sigma ** 2);
    const sigmaVp = info.sigma * alpha;
    const eps = input.map((u, i) => (u - alpha * clean[i]) / sigmaVp);
    return output === 'eps' ? eps : eps.map((e, i) => alpha * e - sigmaVp * clean[i]);
  };
  return Object.assign(fn, { calls });
}

/**
 * Where a deterministic run ends: x0 at sigma 0, else x0 noised to the last level with the noise the ideal
 * denoiser saw first (for img2img the added noise; txt2img's start is pure noise, read as a sample at sigma_0).
 */
function expectedEnd(kind: SamplerKind, firstSigma: number | null): Float32Array {
  let direction = noise;
  if (firstSigma !== null) {
    const alpha = 1 / Math.sqrt(1 + firstSigma ** 2);
    direction = noise.map((n, i) => (n - alpha * x0[i]) / (firstSigma * alpha));
  }
  if (kind === 'ddim') {
    const a = alphasCumprod(SD15_SCHEDULE)[0]; // set_alpha_to_one false: one step short of t = -1
    return x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * direction[i]);
  }
  if (kind === 'unipc') {
    const alpha = 1 / Math.sqrt(1 + table[0] ** 2); // the schedule ends at the smallest training sigma
    return x0.map((v, i) => alpha * v + table[0] * alpha * direction[i]);
  }
  return x0;
}

for (const kind of SAMPLER_KINDS) {
  test(`${kind} brings noise to x0 under an ideal denoiser`, async () => {
    const sampler = createSampler(kind, 10);
    const denoise = oracle(x0);
    const out = await sampler.sample({ noise, denoise, generator: new TorchGenerator(3) });
    assert.equal(out.length, SIZE);
    assert.deepEqual(denoise.calls, [...sampler.timesteps]);
    const err = relativeError(out, expectedEnd(kind, sampler.evaluationSigmas[0]));
    assert.ok(err < 2e-5, `${kind}: error ${err}`);
  });

  test(`${kind} img2img from step 4 of 10 recovers the init latents`, async () => {
    const sampler = createSampler(kind, 10);
    const denoise = oracle(x0);
    const steps: number[] = [];
    const out = await sampler.sample({
      noise,
      initLatents: x0,
      startStep: 4,
      denoise,
      generator: new TorchGenerator(3),
      onStep: (r) => void steps.push(r.stepIndex),
    });
    assert.deepEqual(denoise.calls, sampler.timesteps.slice(sampler.beginIndex(4)));
    assert.equal(steps.length, denoise.calls.length);
    assert.ok(relativeError(out, expectedEnd(kind, null)) < 2e-5);
  });
}

test('DDIM img2img noises the init to the first kept timestep as diffusers add_noise does', () => {
  const ddim = createSampler('ddim', 10);
  const begin = ddim.beginIndex(4);
  assert.equal(ddim.timesteps[begin], 501);
  const a = alphasCumprod(SD15_SCHEDULE)[501];
  const noisy = ddim.addNoise(x0, noise, begin);
  const expected = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * noise[i]);
  assert.ok(relativeError(noisy, expected) < 1e-6);
  // k-diffusion samplers keep latents at x0 + sigma * noise and feed the UNet x / sqrt(sigma^2 + 1)
  const euler = createSampler('euler', 10);
  const sigma = euler.evaluationSigmas[begin];
  assert.ok(relativeError(euler.addNoise(x0, noise, begin), x0.map((v, i) => v + sigma * noise[i])) < 1e-6);
  const scaled = euler.scaleModelInput(euler.addNoise(x0, noise, begin), begin);
  assert.ok(relativeError(scaled, noisy) < 1e-5, 'the UNet sees the same input as with DDIM');
});

test('ancestral samplers draw their noise from the generator, one randn per step after the initial noise', async () => {
  const run = async (seed: number) => {
    const gen = new TorchGenerator(seed);
    const initial = gen.randn([1, 4, 8, 8]);
    const out = await createSampler('euler_a', 10).sample({ noise: initial, denoise: async (x) => x.map((v) => 0.1 * v), generator: gen });
    return { out, next: gen.randn([4]) };
  };
  const a = await run(5);
  const b = await run(5);
  assert.deepEqual(a.out, b.out);
  const reference = new TorchGenerator(5);
  for (let i = 0; i < 11; i++) reference.randn([1, 4, 8, 8]); // initial noise + 10 step draws
  assert.deepEqual(a.next, reference.randn([4]));
  assert.notDeepEqual((await run(6)).out, a.out);
});

test('v-prediction output is converted to epsilon', async () => {
  const out = await createSampler('dpmpp_2m_karras', 10).sample({ noise, denoise: oracle(x0, 'v'), predictionType: 'v_prediction' });
  assert.ok(relativeError(out, x0) < 2e-5);
});

test('inpaint blending keeps the unmasked region on the init trajectory', async () => {
  const mask = new Float32Array(64); // [8, 8]
  for (let i = 0; i < 32; i++) mask[i] = 1; // repaint the top half
  const other = x0.map((v) => -v);
  const out = await createSampler('euler', 10).sample({
    noise,
    initLatents: x0,
    startStep: 2,
    denoise: oracle(other), // the model wants a different image everywhere
    blend: { mask, init: x0, noise },
  });
  for (let c = 0; c < 4; c++) {
    for (let p = 0; p < 64; p++) {
      const i = c * 64 + p;
      const want = p < 32 ? other[i] : x0[i];
      assert.ok(Math.abs(out[i] - want) < 1e-4, `channel ${c} pixel ${p}`);
    }
  }
});

test('bad input is refused with typed errors', async () => {
  const sampler = createSampler('euler_a', 10);
  const denoise = oracle(x0);
  await assert.rejects(sampler.sample({ noise, denoise }), /pass a generator/);
  await assert.rejects(createSampler('ddim', 10).sample({ noise, denoise, startStep: 3 }), /needs initLatents/);
  await assert.rejects(createSampler('ddim', 10).sample({ noise, denoise, startStep: 10, initLatents: x0 }), /outside/);
  await assert.rejects(createSampler('ddim', 10).sample({ noise, denoise: async () => new Float32Array(3) }), /returned 3 values/);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(createSampler('ddim', 10).sample({ noise, denoise, signal: controller.signal }), (e: Error & { kind?: string }) => e.kind === 'cancelled');
  assert.throws(() => createSampler('lcm', 60), /steps must be/);
});

test('A1111 sampler names map to samplers, with v1.9 schedule types', () => {
  assert.equal(samplerFromA1111('DPM++ 2M Karras'), 'dpmpp_2m_karras');
  assert.equal(samplerFromA1111('DPM++ 2M', 'Karras'), 'dpmpp_2m_karras');
  assert.equal(samplerFromA1111('DPM++ 2M', 'Automatic'), 'dpmpp_2m');
  assert.equal(samplerFromA1111('Euler a'), 'euler_a');
  assert.equal(samplerFromA1111('DPM++ SDE', 'Karras'), 'dpmpp_sde_karras');
  assert.equal(samplerFromA1111('Heun'), null);
});

test('ancestral noise keeps the latents at the next step\'s noise level (x0 = 0, large sample)', async () => {
  for (const kind of ['euler_a', 'dpmpp_sde_karras'] as const) {
    const sampler = createSampler(kind, 8);
    const gen = new TorchGenerator(11);
    const start = gen.randn([1, 4, 128, 128]);
    const levels: number[] = [];
    await sampler.sample({
      noise: start,
      generator: gen,
      denoise: async (input, _t, _i, info) => input.map((u) => u / ((info.sigma / Math.sqrt(1 + info.sigma ** 2)))),
      onStep: ({ stepIndex, latents }) => {
        const next = sampler.evaluationSigmas[stepIndex + 1] ?? 0;
        let sq = 0;
        for (const v of latents) sq += v * v;
        levels.push(next === 0 ? Math.sqrt(sq / latents.length) : Math.sqrt(sq / latents.length) / next);
      },
    });
    // every intermediate level within 2% of its sigma, and exactly 0 after the last step
    for (const ratio of levels.slice(0, -1)) assert.ok(Math.abs(ratio - 1) < 0.02, `${kind}: ${levels.join(', ')}`);
    assert.ok(levels[levels.length - 1] < 1e-5, `${kind}: final rms ${levels[levels.length - 1]}`);
  }
});
