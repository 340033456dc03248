// Region weights: area averaging against sums written out by hand, torch's adaptive-pool bins for sizes that do
// not divide, normalisation, and feathering's edge behaviour.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaAverage, featherPlane, isEmptyPlane, normaliseWeights, type Plane } from './region-masks.ts';

const plane = (width: number, height: number, f: (x: number, y: number) => number): Plane => ({
  width,
  height,
  data: Float32Array.from({ length: width * height }, (_, i) => f(i % width, Math.floor(i / width))),
});

test('area averaging by whole blocks equals each block mean, summed directly', () => {
  const p = plane(16, 8, (x, y) => (x * 7 + y * 13) % 5);
  const out = areaAverage(p, 2, 4); // 4x4 blocks
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 4; j++) {
      let sum = 0;
      for (let y = i * 4; y < i * 4 + 4; y++) for (let x = j * 4; x < j * 4 + 4; x++) sum += (x * 7 + y * 13) % 5;
      assert.ok(Math.abs(out[i * 4 + j] - sum / 16) < 1e-6, `cell ${i},${j}: ${out[i * 4 + j]} vs ${sum / 16}`);
    }
  }
});

test("sizes that do not divide use torch's adaptive-pool bins (interpolate mode='area')", () => {
  // One row 0..9 to 4 cells: bins [0,3) [2,5) [5,8) [7,10) (floor(i*10/4) .. ceil((i+1)*10/4)).
  const row = plane(10, 1, (x) => x);
  assert.deepEqual([...areaAverage(row, 1, 4)], [1, 3, 6, 8]);
  // A 9x9 latent's attention levels: 9 -> 5 cells, bins [0,2) [1,4) [3,6) [5,8) [7,9).
  const col = plane(1, 9, (_, y) => y);
  assert.deepEqual([...areaAverage(col, 5, 1)], [0.5, 2, 4, 6, 7.5]);
});

test('weights sum to 1 everywhere: the main prompt takes what regions leave, overlaps share in proportion', () => {
  const a = plane(4, 1, (x) => [0, 0.25, 1, 1][x]);
  const b = plane(4, 1, (x) => [0, 0.5, 1, 0][x]);
  const [main, wa, wb] = normaliseWeights([a, b]);
  assert.deepEqual([...main.data], [1, 0.25, 0, 0]);
  assert.deepEqual([...wa.data], [0, 0.25, 0.5, 1]);
  assert.deepEqual([...wb.data], [0, 0.5, 0.5, 0]);
  const pooled = [main, wa, wb].map((w) => areaAverage(w, 1, 2));
  for (let j = 0; j < 2; j++) assert.ok(Math.abs(pooled[0][j] + pooled[1][j] + pooled[2][j] - 1) < 1e-6);
});

test('feathering: a full mask stays exactly 1, a hard edge becomes a symmetric ramp through 0.5', () => {
  const full = featherPlane(plane(20, 12, () => 1), 6);
  assert.ok(full.data.every((v) => v === 1));
  const half = featherPlane(plane(40, 3, (x) => (x < 20 ? 1 : 0)), 9);
  const row = [...half.data.slice(40, 80)];
  for (let k = 0; k < 20; k++) assert.ok(Math.abs(row[19 - k] + row[20 + k] - 1) < 1e-6, `symmetry at ${k}`);
  assert.ok(row[19] > 0.5 && row[20] < 0.5 && row[10] > 0.999 && row[29] < 0.001);
  assert.ok(row.every((v, i) => i === 0 || v <= row[i - 1] + 1e-7), 'monotone');
  assert.equal(featherPlane(half, 0), half);
  assert.ok(isEmptyPlane(plane(3, 3, () => 0)) && !isEmptyPlane(plane(3, 3, (x) => (x === 2 ? 0.01 : 0))));
});
