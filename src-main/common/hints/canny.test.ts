/// <reference types="node" />
// The edge map against an independent implementation: OpenCV's cv2.Canny (its maps are in canny-reference.ts,
// made from the same picture). Counted in differing pixels; the tolerance is a few pixels, found equal today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { canny } from './canny.ts';
import { CV2_CANNY } from './canny-reference.test-support.ts';
import { shapesPicture } from './test-pictures.test-support.ts';
import type { GreyImage } from './images.ts';

function reference(key: string, size: number): Uint8Array {
  const packed = inflateSync(Buffer.from(CV2_CANNY[key].bits, 'base64'));
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (packed[i >> 3] >> (7 - (i & 7))) & 1 ? 255 : 0;
  return out;
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

const count = (g: GreyImage): number => g.data.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);

for (const [low, high, l2] of [[100, 200, false], [50, 150, false], [60, 120, true]] as const) {
  test(`canny ${low}/${high} ${l2 ? 'L2' : 'L1'} matches cv2.Canny within a few pixels`, () => {
    const picture = shapesPicture();
    const key = `${low}-${high}-${l2 ? 'l2' : 'l1'}`;
    const ours = canny(picture, { low, high, l2 });
    const theirs = reference(key, picture.width * picture.height);
    assert.equal(count(ours), CV2_CANNY[key].edges, 'edge pixel count');
    assert.ok(differing(ours.data, theirs) <= 4, `${differing(ours.data, theirs)} pixels differ from cv2`);
  });
}

test('canny: thresholds swap when given high first, and edges are white on black', () => {
  const picture = shapesPicture();
  const a = canny(picture, { low: 100, high: 200 });
  const b = canny(picture, { low: 200, high: 100 });
  assert.deepEqual(a.data, b.data);
  assert.ok(a.data.every((v) => v === 0 || v === 255));
});

test('canny: a lower low threshold keeps a superset of the edges (hysteresis only adds)', () => {
  const picture = shapesPicture();
  const strict = canny(picture, { low: 150, high: 200 });
  const loose = canny(picture, { low: 50, high: 200 });
  for (let i = 0; i < strict.data.length; i++) if (strict.data[i]) assert.equal(loose.data[i], 255, `pixel ${i}`);
  assert.ok(count(loose) > count(strict));
});

test('canny: a flat image has no edges; a grey step has one line of them', () => {
  const flat: GreyImage = { width: 16, height: 8, data: new Uint8Array(128).fill(90) };
  assert.equal(count(canny(flat, { low: 10, high: 20 })), 0);
  const step: GreyImage = { width: 16, height: 8, data: new Uint8Array(128).map((_, i) => (i % 16 < 8 ? 0 : 200)) };
  const edges = canny(step, { low: 10, high: 20 });
  for (let y = 0; y < 8; y++) {
    const row = [...edges.data.subarray(y * 16, y * 16 + 16)].map((v) => (v ? 1 : 0)).join('');
    assert.equal(row, '0000000100000000', `row ${y}`);
  }
});

test('canny refuses images that are neither grey nor RGB', () => {
  assert.throws(() => canny({ width: 2, height: 2, data: new Uint8Array(16) }, { low: 1, high: 2 }), /4 channels/);
});
