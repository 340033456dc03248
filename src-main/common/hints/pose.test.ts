/// <reference types="node" />
// Pose rendering against cv2: the whole image of a three-person scene hashes to the digest of the image cv2
// drew from the same keypoints with ControlNet 1.1's draw_bodypose (OpenCV 4.6.0), and chosen pixels hold
// the standard colours: keypoints in full colour, limbs at 0.6 of theirs, black elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ellipsePolygon, fillCircle, KEYPOINT_NAMES, LIMB_SEQUENCE, POSE_COLORS, renderPose, standingPerson } from './pose.ts';
import type { PosePerson } from '../document/model.ts';
import type { RgbImage } from './images.ts';

const W = 256;
const H = 192;
const CV2_SCENE_SHA256 = '35c4cbfe3e9464e778238ee9ab4e6c1c1320849143a743dde48c5108773d81fe';

function scene(): PosePerson[] {
  const a = standingPerson('a', W, H, 0.3);
  const b = standingPerson('b', W, H, 0.75);
  b.keypoints[4].visible = false; // right wrist hidden: the forearm and the wrist disc vanish
  b.keypoints[16].visible = false;
  b.keypoints[9] = { x: 200.7, y: 140.2, visible: true }; // fractional: truncated as int() does
  const c = standingPerson('c', W, H, 1.02); // half off the right edge
  return [a, b, c];
}

const pixel = (img: RgbImage, x: number, y: number): number[] => {
  const o = (Math.trunc(y) * img.width + Math.trunc(x)) * 3;
  return [...img.data.subarray(o, o + 3)];
};
const limbColor = (limb: number): number[] => POSE_COLORS[limb].map((c) => Math.floor(c * 0.6));

test('renderPose draws the scene exactly as cv2 with draw_bodypose', () => {
  const image = renderPose(scene(), W, H);
  assert.equal(createHash('sha256').update(image.data).digest('hex'), CV2_SCENE_SHA256);
});

test('keypoints are discs of radius 4 in the OpenPose colour of their index', () => {
  const image = renderPose(scene(), W, H);
  const [a] = scene();
  // Eyes and ears lie within 4 pixels of each other: later discs cover earlier ones, so check the body only.
  a.keypoints.slice(0, 14).forEach((k, i) => {
    assert.deepEqual(pixel(image, k.x, k.y), [...POSE_COLORS[i]], `${KEYPOINT_NAMES[i]} centre`);
  });
  const hip = a.keypoints[8];
  assert.deepEqual(pixel(image, hip.x + 4, hip.y), [...POSE_COLORS[8]], 'radius 4 reaches x+4');
  assert.notDeepEqual(pixel(image, hip.x + 5, hip.y), [...POSE_COLORS[8]], 'and no further');
});

test('limbs are ellipses of stick width 4 at 0.6 of their colour, between their keypoints', () => {
  const image = renderPose(scene(), W, H);
  const [a] = scene();
  for (const limb of [7, 8, 10, 11]) {
    const [p, q] = LIMB_SEQUENCE[limb].map((k) => a.keypoints[k - 1]);
    const mid = { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
    assert.deepEqual(pixel(image, mid.x, mid.y), limbColor(limb), `limb ${limb} middle`);
    // A vertical leg: 4 pixels either side of the axis is inside, 6 is outside.
    assert.deepEqual(pixel(image, mid.x + 3, mid.y), limbColor(limb), `limb ${limb} width`);
    assert.deepEqual(pixel(image, mid.x + 6, mid.y), [0, 0, 0], `limb ${limb} outside`);
  }
});

test('hidden keypoints drop their disc and every limb that needs them', () => {
  const image = renderPose(scene(), W, H);
  const b = scene()[1];
  const wrist = standingPerson('b', W, H, 0.75).keypoints[4];
  assert.deepEqual(pixel(image, wrist.x, wrist.y), [0, 0, 0]);
  const elbow = b.keypoints[3];
  const forearmMid = { x: (elbow.x + wrist.x) / 2, y: (elbow.y + wrist.y) / 2 };
  assert.deepEqual(pixel(image, forearmMid.x, forearmMid.y), [0, 0, 0]);
  assert.deepEqual(pixel(image, 0, 0), [0, 0, 0], 'background');
});

test('ellipsePolygon and fillCircle follow OpenCV on small cases', () => {
  // cv2.ellipse2Poly((10, 10), (3, 1), 0, 0, 360, 1) starts at (13, 10) and has no repeated neighbours.
  const poly = ellipsePolygon(10, 10, 3, 1, 0);
  assert.deepEqual(poly[0], [13, 10]);
  for (let i = 1; i < poly.length; i++) assert.notDeepEqual(poly[i], poly[i - 1]);
  const img: RgbImage = { width: 9, height: 9, data: new Uint8Array(243) };
  fillCircle(img, 4, 4, 4, [1, 1, 1]);
  const rows = Array.from({ length: 9 }, (_, y) => Array.from({ length: 9 }, (_, x) => img.data[(y * 9 + x) * 3]).join(''));
  // cv2.circle(np.zeros((9, 9)), (4, 4), 4, 1, -1)
  assert.deepEqual(rows, ['000010000', '001111100', '011111110', '011111110', '111111111', '011111110', '011111110', '001111100', '000010000']);
});
