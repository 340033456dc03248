// DWPose and OpenPose end to end on small ONNX models emitted by the graph builder: a fake YOLOX returning one
// box, a fake RTMPose with SimCC peaks at chosen keypoints, a fake OpenPose body model with blobs and limb
// fields; people checked in OpenPose's keypoint order at positions worked out by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnnotatedPerson } from '../../common/contract.ts';
import { annotateDwpose, detectPeople, nms } from './dwpose.ts';
import type { RgbImage } from './image.ts';
import { annotateOpenpose } from './openpose.ts';
import { fakeDetectorModel, fakeOpenposeModel, fakePoseModel } from './synthetic-annotators.test-support.ts';
import { syntheticModelLoader } from './synthetic-model-loader.test-support.ts';

const { load } = syntheticModelLoader('pose');

const grey = (width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(90) });

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

// A 480 x 320 picture with one person in the box (180, 40) - (300, 280). YOLOX sees it letterboxed by
// r = min(640 / 320, 640 / 480) = 4/3: centre (320, 213.33), size 160 x 320.
const picture = grey(480, 320);
const detectorBox = { cx: 320, cy: 640 / 3, w: 160, h: 320, score: 0.9 };

test('YOLOX: the raw output is decoded on its grids, divided by the letterbox ratio; weak boxes are dropped', async () => {
  const detector = await load('yolox.onnx', fakeDetectorModel(detectorBox), 'dwpose-detector');
  const [box, ...more] = await detectPeople(detector, picture);
  assert.equal(more.length, 0);
  for (const [k, v] of Object.entries({ x1: 180, y1: 40, x2: 300, y2: 280 })) near(box[k as 'x1'], v, 1e-3, k);
  near(box.score, 0.9, 1e-6, 'score');
  const weak = await load('yolox-weak.onnx', fakeDetectorModel({ ...detectorBox, score: 0.25 }), 'dwpose-detector');
  assert.deepEqual(await detectPeople(weak, picture), []);
});

test('NMS keeps the best of overlapping boxes and every box that overlaps little', () => {
  const kept = nms(
    [
      { x1: 0, y1: 0, x2: 99, y2: 99, score: 0.8 },
      { x1: 5, y1: 5, x2: 104, y2: 104, score: 0.9 }, // IoU with the first 0.82
      { x1: 60, y1: 60, x2: 159, y2: 159, score: 0.7 }, // IoU with the second 0.25
    ],
    0.45,
  );
  assert.deepEqual(kept.map((b) => b.score), [0.9, 0.7]);
});

// The pose model sees the box padded 1.25x (150 x 300) and widened to 192:256, i.e. 225 x 300 around
// (240, 160): model pixel (u, v) is picture pixel (127.5 + u * 225/192, 10 + v * 300/256).
const K = 225 / 192; // = 300 / 256 = 1.171875
const poseKeypoints = [
  { index: 0, x: 96, y: 40, score: 0.9 }, // nose
  { index: 2, x: 90, y: 34, score: 0.8 }, // right eye
  { index: 5, x: 120, y: 80, score: 0.9 }, // left shoulder
  { index: 6, x: 72, y: 80, score: 0.7 }, // right shoulder
  { index: 8, x: 60, y: 120, score: 0.6 }, // right elbow
  { index: 9, x: 130.5, y: 150, score: 0.95 }, // left wrist (a half-pixel SimCC bin)
  { index: 11, x: 100, y: 170, score: 0.2 }, // left hip, too unsure to show
];
const at = (u: number, v: number) => [127.5 + u * K, 10 + v * K];

function expectPerson(person: AnnotatedPerson, scale: number): void {
  assert.equal(person.keypoints.length, 18);
  const expected: Record<number, number[]> = {
    0: at(96, 40), // nose
    1: at(96, 80), // neck = mid-shoulders
    2: at(72, 80), // right shoulder (COCO 6)
    3: at(60, 120), // right elbow (COCO 8)
    5: at(120, 80), // left shoulder (COCO 5)
    7: at(130.5, 150), // left wrist (COCO 9)
    14: at(90, 34), // right eye (COCO 2)
  };
  person.keypoints.forEach((k, i) => {
    assert.equal(k.visible, i in expected, `keypoint ${i} visible`);
    if (i in expected) {
      near(k.x, expected[i][0] * scale, 0.01, `keypoint ${i} x`);
      near(k.y, expected[i][1] * scale, 0.01, `keypoint ${i} y`);
    }
  });
  assert.equal(person.keypoints[1].score, 1); // the neck scores 1 when both shoulders are sure
  near(person.keypoints[11].score, 0.2, 1e-6, 'left hip score'); // kept, not visible
}

test('DWPose: SimCC peaks map back through the crop to picture pixels, COCO-WholeBody to OpenPose order', async () => {
  const detector = await load('yolox-2.onnx', fakeDetectorModel(detectorBox), 'dwpose-detector');
  const pose = await load('dw-ll.onnx', fakePoseModel({ width: 192, height: 256 }, poseKeypoints), 'dwpose-pose');
  const steps: string[] = [];
  const people = await annotateDwpose(detector, pose, picture, (done, total) => steps.push(`${done}/${total}`));
  assert.equal(people.length, 1);
  expectPerson(people[0], 1);
  assert.deepEqual(steps, ['0/1']);
});

test('DWPose: with nobody found the whole picture is one box; a crop with no sure keypoint is no person', async () => {
  const weak = await load('yolox-none.onnx', fakeDetectorModel({ ...detectorBox, score: 0.1 }), 'dwpose-detector');
  const empty = await load('dw-empty.onnx', fakePoseModel({ width: 192, height: 256 }, [{ index: 0, x: 10, y: 10, score: 0.2 }]), 'dwpose-pose');
  assert.deepEqual(await annotateDwpose(weak, empty, picture), []);
  // the whole 480 x 320 picture padded 1.25x and widened to 192:256 is 600 x 800 around (240, 160):
  // model pixel (u, v) is picture pixel (u * 3.125 - 60, v * 3.125 - 240)
  const nose = await load('dw-nose.onnx', fakePoseModel({ width: 192, height: 256 }, [{ index: 0, x: 96, y: 100, score: 0.9 }]), 'dwpose-pose');
  const [person, ...more] = await annotateDwpose(weak, nose, picture);
  assert.equal(more.length, 0);
  assert.deepEqual(person.keypoints.map((k) => k.visible), [true, ...new Array(17).fill(false)]);
  near(person.keypoints[0].x, 240, 1e-9, 'nose x');
  near(person.keypoints[0].y, 72.5, 1e-9, 'nose y');
});

// OpenPose on a 368 x 368 picture through a model fixed at 368 x 368 (maps 46 x 46): joints at map pixel
// (jx, jy) peak near picture pixel 8 j + 3.5 (map pixel centres after the x8 enlargement).
const joints = new Map<number, [number, number]>([
  [0, [23.3, 8.3]], // nose
  [1, [23.3, 14.3]], // neck
  [2, [17.3, 14.3]], // right shoulder
  [3, [15.3, 22.3]], // right elbow
  [5, [29.3, 14.3]], // left shoulder
  [6, [31.3, 22.3]], // left elbow
  [8, [19.3, 28.3]], // right hip
  [11, [27.3, 28.3]], // left hip
]);

test('OpenPose: heatmap peaks joined along their part-affinity fields make one person in OpenPose order', async () => {
  const model = await load('body.onnx', fakeOpenposeModel({ width: 368, height: 368 }, joints), 'openpose-body');
  const messages: string[] = [];
  const people = await annotateOpenpose(model, grey(368, 368), (m) => messages.push(m));
  assert.equal(people.length, 1);
  const person = people[0];
  person.keypoints.forEach((k, i) => {
    const j = joints.get(i);
    assert.equal(k.visible, !!j, `keypoint ${i} visible`);
    if (j) {
      near(k.x, 8 * j[0] + 3.5, 0.5, `keypoint ${i} x`);
      near(k.y, 8 * j[1] + 3.5, 0.5, `keypoint ${i} y`);
      assert.ok(k.score > 0.8, `keypoint ${i} score ${k.score}`);
    }
  });
  assert.deepEqual(messages, ['Finding joints', 'Connecting limbs']);
});

test('OpenPose: joints without limb fields between them are not a person (fewer than 4 joined)', async () => {
  const model = await load('body-loose.onnx', fakeOpenposeModel({ width: 368, height: 368 }, new Map([[0, [10.3, 10.3]], [1, [30.3, 30.3]]])), 'openpose-body');
  assert.deepEqual(await annotateOpenpose(model, grey(368, 368)), []);
});
