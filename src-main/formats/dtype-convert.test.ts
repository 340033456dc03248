import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bfloat16ToFloat32,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  float32ToFloat16Bits,
} from './dtype-convert.ts';
import { openSafetensors } from './safetensors.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');

test('F16 -> F32 matches torch: every F16 tensor of tiny-controlnet is, as float32, a tensor of its diffusers copy', () => {
  // The diffusers file holds the same ControlNet converted to float32 by torch, under other names.
  const half = openSafetensors(path.join(fixtures, 'tiny-controlnet.safetensors'));
  const full = openSafetensors(path.join(fixtures, 'tiny-controlnet-diffusers.safetensors'));
  try {
    const torchValues = new Set<string>();
    for (const name of full.tensors.keys()) torchValues.add(full.readBytes(name).toString('base64'));
    let subnormals = 0;
    for (const [name, entry] of half.tensors) {
      assert.equal(entry.dtype, 'F16');
      const bytes = half.readBytes(name);
      for (let i = 0; i < bytes.length; i += 2) if ((bytes.readUInt16LE(i) & 0x7c00) === 0 && (bytes.readUInt16LE(i) & 0x3ff) !== 0) subnormals++;
      const mine = half.readFloat32(name);
      assert.ok(torchValues.has(Buffer.from(mine.buffer, mine.byteOffset, mine.byteLength).toString('base64')), name);
    }
    assert.ok(subnormals > 100, `subnormal halves covered: ${subnormals}`);
  } finally {
    half.close();
    full.close();
  }
});

test('F16 -> F32 special values', () => {
  const bits = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0x3555, 0x7bff, 0x7c00, 0xfc00, 0x7e00]);
  const values = float16ToFloat32(bits);
  assert.deepEqual([...values.subarray(0, 10)], [0, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, 0.333251953125, 65504, Infinity, -Infinity]);
  assert.ok(Number.isNaN(values[10]));
});

test('F32 -> F16 rounds to nearest even, including subnormals and overflow', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [1 + 2 ** -11, 0x3c00], // tie -> even
    [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // above the tie
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // tie between 65504 and 65536 -> infinity
    [1e10, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie -> even (zero)
    [2 ** -25 * 1.5, 0x0001],
    [3 * 2 ** -25, 0x0002], // 1.5 units -> even
    [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormals
    [-(2 ** -30), 0x8000],
    [1e-45, 0x0000],
  ];
  for (const [value, expected] of cases) assert.equal(float32ToFloat16Bits(value), expected, `${value}`);
  assert.equal(float32ToFloat16Bits(NaN) & 0x7c00, 0x7c00);
  assert.notEqual(float32ToFloat16Bits(NaN) & 0x3ff, 0);
});

test('every half value survives F16 -> F32 -> F16 unchanged', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = float32ToFloat16(float16ToFloat32(all));
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok((back[h] & 0x7c00) === 0x7c00 && (back[h] & 0x3ff) !== 0);
    else if (back[h] !== h) assert.fail(`half 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
  }
});

test('bfloat16 both ways', () => {
  assert.deepEqual([...bfloat16ToFloat32(new Uint16Array([0x3f80, 0xc0a0, 0x0001, 0x7f80]))], [1, -5, 2 ** -133, Infinity]);
  const out = float32ToBfloat16(new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -12, -0, NaN]));
  assert.deepEqual([...out.subarray(0, 5)], [0x3f80, 0x3f80, 0x3f82, 0x3f81, 0x8000]);
  assert.equal(out[5] & 0x7fc0, 0x7fc0, 'NaN stays a quiet NaN');
});
