// The tools' geometry and pixel arithmetic (the parts that need no DOM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DabSpacer } from '../brush-stamp.ts';
import { alphaBounds } from '../content-bounds.ts';
import { floodFill } from './fill.ts';
import { snapAngle } from './line.ts';
import { scaleBox } from './move.ts';
import { shapeBox } from './shape.ts';

test('dabs are spaced evenly along a stroke fed in pieces', () => {
  const one = new DabSpacer(0.25);
  const whole = [...one.to({ x: 0, y: 0 }, 8), ...one.to({ x: 20, y: 0 }, 8)];
  const pieces = new DabSpacer(0.25);
  const split = [...pieces.to({ x: 0, y: 0 }, 8), ...pieces.to({ x: 7, y: 0 }, 8), ...pieces.to({ x: 13, y: 0 }, 8), ...pieces.to({ x: 20, y: 0 }, 8)];
  assert.deepEqual(
    split.map((d) => d.x.toFixed(6)),
    whole.map((d) => d.x.toFixed(6)),
  );
  assert.deepEqual(whole.map((d) => d.x), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
});

test('flood fill fills the region around the seed and stops at other colours', () => {
  const w = 5;
  const h = 4;
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) data[(y * w + 2) * 4 + 3] = 255; // a black wall at x = 2
  const rect = floodFill({ data, width: w, height: h }, 0, 0, [255, 0, 0, 255], 0);
  assert.deepEqual(rect, { x: 0, y: 0, width: 2, height: 4 });
  const red = (x: number, y: number) => data[(y * w + x) * 4] === 255 && data[(y * w + x) * 4 + 3] === 255;
  assert.ok(red(0, 0) && red(1, 3));
  assert.ok(!red(3, 0) && !red(2, 1));
  assert.equal(floodFill({ data, width: w, height: h }, 0, 0, [255, 0, 0, 255], 0), null, 'filling with the same colour does nothing');
});

test('the content box is the box of painted pixels', () => {
  const w = 6;
  const data = new Uint8ClampedArray(w * 5 * 4);
  data[(1 * w + 2) * 4 + 3] = 10;
  data[(3 * w + 4) * 4 + 3] = 255;
  assert.deepEqual(alphaBounds(data, w, 5), { x: 2, y: 1, width: 3, height: 3 });
  assert.equal(alphaBounds(new Uint8ClampedArray(16), 2, 2), null);
});

test('shape boxes: square with Shift, from the centre with Alt', () => {
  assert.deepEqual(shapeBox({ x: 10, y: 10 }, { x: 30, y: 15 }, false, false), { x: 10, y: 10, width: 20, height: 5 });
  assert.deepEqual(shapeBox({ x: 10, y: 10 }, { x: 30, y: 15 }, true, false), { x: 10, y: 10, width: 20, height: 20 });
  assert.deepEqual(shapeBox({ x: 10, y: 10 }, { x: 0, y: 15 }, false, true), { x: 0, y: 5, width: 20, height: 10 });
});

test('transform handles: corners keep the ratio unless free, edges stretch one way', () => {
  const b = { x: 0, y: 0, width: 100, height: 50 };
  assert.deepEqual(scaleBox(b, 'se', 100, 0, false), { x: 0, y: 0, width: 200, height: 100 });
  assert.deepEqual(scaleBox(b, 'se', 100, 0, true), { x: 0, y: 0, width: 200, height: 50 });
  assert.deepEqual(scaleBox(b, 'w', 20, 30, false), { x: 20, y: 0, width: 80, height: 50 });
  const s = snapAngle({ x: 0, y: 0 }, { x: 10, y: 1 });
  assert.ok(Math.abs(s.y) < 1e-9 && Math.abs(s.x - Math.hypot(10, 1)) < 1e-9);
});
