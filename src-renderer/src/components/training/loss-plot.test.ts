/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossPlot, lossRange, niceTicks, smoothLosses, tickLabel } from './loss-plot.ts';

const box = { width: 420, height: 200, left: 40, right: 10, top: 10, bottom: 24 };

test('smoothLosses is bias-corrected: a constant curve stays constant from the first step', () => {
  assert.deepEqual(smoothLosses([0.5, 0.5, 0.5]), [0.5, 0.5, 0.5]);
  const s = smoothLosses([1, 0], 0.5);
  // avg = 0.5*1 = 0.5, norm 0.5 -> 1; then avg 0.25, norm 0.75 -> 1/3
  assert.equal(s[0], 1);
  assert.ok(Math.abs(s[1] - 1 / 3) < 1e-12);
  assert.deepEqual(smoothLosses([2, 4], 0), [2, 4], 'weight 0 is the raw curve');
});

test('smoothLosses carries the last value over a non-finite loss', () => {
  assert.deepEqual(smoothLosses([0.3, NaN, 0.3]), [0.3, 0.3, 0.3]);
});

test('niceTicks picks round steps inside the range', () => {
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(0.13, 0.31, 4), [0.15, 0.2, 0.25, 0.3]);
  assert.deepEqual(niceTicks(1, 30, 5), [10, 20, 30]);
  assert.deepEqual(niceTicks(1, 200, 5), [50, 100, 150, 200]);
  assert.deepEqual(niceTicks(2, 2), [2]);
});

test('tickLabel shows as many decimals as the spacing needs', () => {
  assert.equal(tickLabel(0.25, 0.05), '0.25');
  assert.equal(tickLabel(0.2, 0.1), '0.2');
  assert.equal(tickLabel(20, 5), '20');
  assert.equal(tickLabel(0.015, 0.005), '0.015');
});

test('lossRange ignores a few early outliers once there are enough steps', () => {
  const losses = [5, ...Array.from({ length: 99 }, (_, i) => 0.1 + (i % 10) * 0.01)];
  const { min, max } = lossRange(losses);
  assert.ok(max < 1, `max ${max} is not pulled up to the outlier`);
  assert.ok(min <= 0.1 && min >= 0);
  assert.deepEqual(lossRange([]), { min: 0, max: 1 });
  const flat = lossRange([0.2, 0.2]);
  assert.ok(flat.max > flat.min);
});

test('lossPlot spans the whole run on x and maps losses inside the plot box', () => {
  const losses = [0.4, 0.3, 0.35, 0.2];
  const g = lossPlot(losses, 10, box);
  assert.equal(g.xOf(1), box.left);
  assert.equal(g.xOf(10), box.width - box.right);
  const points = [...g.raw.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  assert.equal(points.length, 4);
  for (const [x, y] of points) {
    assert.ok(x >= box.left && x <= box.width - box.right);
    assert.ok(y >= box.top && y <= box.height - box.bottom);
  }
  assert.ok(points[3][1] > points[0][1], 'a lower loss is drawn lower');
  assert.equal(g.last?.x, g.xOf(4));
  assert.ok(g.yTicks.length >= 2 && g.xTicks.every((t) => t.x >= box.left));
});

test('lossPlot thins thousands of steps but keeps the last point', () => {
  const losses = Array.from({ length: 5000 }, (_, i) => 0.2 + 0.1 * Math.sin(i));
  const g = lossPlot(losses, 5000, box);
  const count = (g.raw.match(/[ML]/g) ?? []).length;
  assert.ok(count < 1500, `${count} points`);
  assert.ok(g.raw.endsWith(`L${g.xOf(5000).toFixed(1)} ${g.raw.split(' ').pop()}`));
});
