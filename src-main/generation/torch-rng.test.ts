import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TorchGenerator, Mt19937, torchSeed32 } from './torch-rng.ts';
import { fma32 } from './torch-rng-avx.ts';
import { golden, referenceJson } from './goldens.test-support.ts';

function parseCase(name: string): { seed: number; shape: number[] } {
  const [, seed, dims] = name.split('.');
  return { seed: Number(seed), shape: dims.split('x').map(Number) };
}

function countMismatches(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let bad = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) bad++;
  return bad;
}

test('mt19937 matches the C++ standard reference value', () => {
  // [rand.predef]: the 10000th output of a default-seeded (5489) std::mt19937 is 4123659995
  const mt = new Mt19937(5489);
  let last = 0;
  for (let i = 0; i < 10000; i++) last = mt.nextUint32();
  assert.equal(last, 4123659995);
});

for (const name of referenceJson().rng) {
  test(`randn reproduces ${name} bit for bit`, () => {
    const { seed, shape } = parseCase(name);
    const expected = golden(name);
    assert.deepEqual(expected.shape, shape);
    const actual = new TorchGenerator(seed).randn(shape);
    assert.equal(countMismatches(actual, expected.data), 0);
  });
}

test('the pipelines initial noise is seed 42 randn(1,4,32,32)', () => {
  const actual = new TorchGenerator(42).randn([1, 4, 32, 32]);
  assert.equal(countMismatches(actual, golden('pipe.ddim.noise').data), 0);
});

test('the scalar kernel stays within a few ulps of the AVX2 kernel', () => {
  const avx = new TorchGenerator(0).randn([1, 4, 64, 64]);
  const scalar = new TorchGenerator(0, { kernel: 'scalar' }).randn([1, 4, 64, 64]);
  let maxDiff = 0;
  for (let i = 0; i < avx.length; i++) maxDiff = Math.max(maxDiff, Math.abs(avx[i] - scalar[i]));
  assert.ok(maxDiff > 0 && maxDiff < 1e-5, `max difference ${maxDiff}`);
});

test('successive draws continue one stream', () => {
  const gen = new TorchGenerator(42);
  const first = gen.randn([1, 4, 8, 8]);
  const second = gen.randn([1, 4, 8, 8]);
  assert.equal(countMismatches(first, golden('rng.42.1x4x8x8').data), 0);
  // 256 uniforms consumed 256 words; a fresh generator's next 256 floats are the same draws
  const fresh = new TorchGenerator(42);
  fresh.randn(256);
  assert.equal(countMismatches(fresh.randn([256]), second), 0);
  assert.notEqual(countMismatches(first, second), 0);
});

test('small tensors share the cached second Box-Muller value across calls', () => {
  const whole = new TorchGenerator(7).randn([3]);
  const gen = new TorchGenerator(7);
  const parts = [...gen.randn([1]), ...gen.randn([1]), ...gen.randn([1])];
  assert.deepEqual(parts, [...whole]);
  const clone = gen.clone();
  assert.deepEqual([...clone.randn([5])], [...gen.randn([5])]);
  gen.manualSeed(7);
  assert.deepEqual([...gen.randn([3])], [...whole]);
});

test('seeds reduce as torch.manual_seed does', () => {
  assert.equal(torchSeed32(4294967295), 4294967295);
  assert.equal(torchSeed32(-1), 4294967295);
  assert.equal(torchSeed32(2n ** 32n + 5n), 5);
  assert.throws(() => torchSeed32(1.5), /not an integer/);
  assert.throws(() => new TorchGenerator(1).randn([2, -1]), /bad shape/);
});

test('fma32 rounds once where a double sum would round twice', () => {
  // a*b = 2^-24 + 262112 * 2^-71: in a double 1 + a*b rounds to the float midpoint 1 + 2^-24, and a second
  // rounding (ties to even) would give 1; the exact sum lies above the midpoint.
  const a = 1.0002403259277344;
  const b = 5.959032378655138e-8;
  assert.equal(Math.fround(a), a);
  assert.equal(Math.fround(b), b);
  assert.equal(Math.fround(a * b + 1), 1);
  assert.equal(fma32(a, b, 1), 1 + 2 ** -23);
  assert.equal(fma32(-a, b, 1), 1 - 2 ** -24);
  assert.equal(fma32(3, 5, 1), 16);
});
