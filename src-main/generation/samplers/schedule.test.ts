import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SD15_SCHEDULE,
  alphasCumprod,
  img2imgStartStep,
  interpTable,
  karrasSigmas,
  logSigmaTable,
  multistepTimesteps,
  npLinspace,
  roundHalfEven,
  sigmaToTimestep,
  spacedTimesteps,
  trainingSigmas,
} from './schedule.ts';
import { SAMPLER_CONFIGS, createSampler } from './index.ts';
import { referenceJson } from '../goldens.test-support.ts';

const table = trainingSigmas(alphasCumprod(SD15_SCHEDULE));
const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('SD1.5 training sigmas span 0.0292 to 14.6146 (the values every SD front end shows)', () => {
  close(table[0], 0.0291675, 2e-6, 'sigma_min');
  close(table[999], 14.614647, 2e-5, 'sigma_max');
  // abar[t] = prod(1 - beta): betas of the scaled_linear schedule at both ends
  const abar = alphasCumprod(SD15_SCHEDULE);
  close(1 - abar[0], 0.00085, 6e-8, 'beta_0'); // abar is float32
  close(abar[1] / abar[0], 1 - (Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) / 999) ** 2, 1e-7, 'beta_1');
});

test('DDIM and Euler timesteps for 10 leading steps are diffusers\' [901, 801, ..., 1]', () => {
  const expected = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];
  assert.deepEqual(spacedTimesteps(SD15_SCHEDULE, 10, true), expected);
  assert.deepEqual([...createSampler('ddim', 10).timesteps], expected);
  assert.deepEqual([...createSampler('euler', 10).timesteps], expected);
});

test('Euler sigmas are the training sigmas at the timesteps, then 0', () => {
  const euler = createSampler('euler', 10) as unknown as { sigmas: Float32Array; initNoiseSigma: number };
  const ts = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];
  assert.deepEqual([...euler.sigmas], [...ts.map((t) => table[t]), 0]);
  close(euler.sigmas[0], 8.3907, 1e-4, 'sigma(901)');
  // leading spacing: init_noise_sigma = sqrt(sigma_max^2 + 1)
  close(euler.initNoiseSigma, Math.sqrt(euler.sigmas[0] ** 2 + 1), 1e-6, 'init_noise_sigma');
});

test('linspace and trailing spacings, numpy rounding', () => {
  const linspace = { ...SD15_SCHEDULE, timestep_spacing: 'linspace' as const };
  assert.deepEqual(multistepTimesteps(linspace, 10), [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
  assert.deepEqual(spacedTimesteps(linspace, 4, true), [999, 666, 333, 0]);
  assert.deepEqual(spacedTimesteps({ ...SD15_SCHEDULE, timestep_spacing: 'trailing' }, 4, true), [999, 749, 499, 249]);
  assert.equal(roundHalfEven(2.5), 2);
  assert.equal(roundHalfEven(3.5), 4);
  assert.equal(roundHalfEven(-0.4), -0);
  assert.deepEqual(npLinspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.throws(() => spacedTimesteps(SD15_SCHEDULE, 0, true), /steps must be/);
});

test('Karras sigmas: from sigma_max to sigma_min, evenly spaced in sigma^(1/7)', () => {
  const sigmas = karrasSigmas(table[0], table[999], 10);
  close(sigmas[0], table[999], 1e-9, 'first');
  close(sigmas[9], table[0], 1e-12, 'last');
  const roots = sigmas.map((s) => s ** (1 / 7));
  for (let i = 1; i < 9; i++) close(roots[i + 1] - roots[i], roots[i] - roots[i - 1], 1e-12, `spacing ${i}`);
  const dpm = createSampler('dpmpp_2m_karras', 10) as unknown as { sigmas: Float32Array; timesteps: number[] };
  assert.deepEqual([...dpm.sigmas], [...Float32Array.from(sigmas), 0]);
  assert.equal(dpm.timesteps[0], 999);
  assert.equal(dpm.timesteps[9], 0);
  for (let i = 1; i < 10; i++) assert.ok(dpm.timesteps[i] < dpm.timesteps[i - 1]);
});

test('sigma -> timestep interpolates in log sigma and inverts the training table', () => {
  const logSigmas = logSigmaTable(table);
  for (const t of [0, 1, 17, 500, 998, 999]) close(sigmaToTimestep(table[t], logSigmas), t, 1e-4, `t=${t}`);
  // halfway in log sigma between two training steps is halfway in t
  const mid = Math.sqrt(table[300] * table[301]);
  close(sigmaToTimestep(mid, logSigmas), 300.5, 1e-3, 'midpoint');
  assert.equal(sigmaToTimestep(1e-6, logSigmas), 0);
  assert.equal(sigmaToTimestep(100, logSigmas), 999);
  close(interpTable(table, 300.5), (table[300] + table[301]) / 2, 1e-9, 'interp');
});

test('img2img keeps the last int(steps * strength) steps', () => {
  assert.equal(img2imgStartStep(10, 0.6), 4);
  assert.equal(img2imgStartStep(10, 1), 0);
  assert.equal(img2imgStartStep(10, 0.75), 3);
  assert.equal(img2imgStartStep(20, 0.05), 19);
  assert.deepEqual(createSampler('ddim', 10).timesteps.slice(img2imgStartStep(10, 0.6)), [501, 401, 301, 201, 101, 1]);
  assert.throws(() => img2imgStartStep(10, 1.5), /strength/);
});

test('the fixture configurations are the ones reference.json records', () => {
  const reference = referenceJson().schedulers;
  for (const kind of ['ddim', 'euler', 'euler_a', 'dpmpp_2m_karras'] as const) {
    const ours = SAMPLER_CONFIGS[kind] as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(ours)) {
      if (key in reference[kind]) assert.deepEqual(value, reference[kind][key], `${kind}.${key}`);
    }
  }
});
