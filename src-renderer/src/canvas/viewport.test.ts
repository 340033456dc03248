import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fit, stepZoom, toDoc, toScreen, zoomAt, zoomLabel, MAX_ZOOM } from './viewport.ts';

test('zooming keeps the document point under the cursor still', () => {
  const v = { scale: 0.5, x: 100, y: 40 };
  const at = { x: 300, y: 200 };
  const before = toDoc(v, at);
  const z = zoomAt(v, at, 3);
  assert.equal(z.scale, 1.5);
  const after = toDoc(z, at);
  assert.ok(Math.abs(after.x - before.x) < 1e-9 && Math.abs(after.y - before.y) < 1e-9);
  assert.deepEqual(toScreen(z, after), at);
  assert.equal(zoomAt(v, at, 1e6).scale, MAX_ZOOM);
});

test('fit centres the page with a margin', () => {
  const v = fit({ width: 1064, height: 864 }, { width: 1024, height: 1024 }, 32);
  assert.equal(v.scale, 0.78125); // (864 - 64) / 1024
  assert.equal(v.y, 32);
  assert.equal(v.x, Math.round((1064 - 1024 * v.scale) / 2));
});

test('zoom steps walk the preset levels', () => {
  assert.equal(stepZoom(1, 1), 1.5);
  assert.equal(stepZoom(1, -1), 0.667);
  assert.equal(stepZoom(0.7, 1), 1);
  assert.equal(zoomLabel(0.3333), '33%');
  assert.equal(zoomLabel(0.05), '5.0%');
});
