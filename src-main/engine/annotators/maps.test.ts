// Depth, lineart and soft edge annotators end to end on small ONNX models emitted by the graph builder: the
// file is recognised, run through onnxruntime from disk, and the hint checked against values worked out by
// hand from the published pre- and post-processing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { annotateDepth, depthInput, depthInputSize } from './depth.ts';
import type { RgbImage } from './image.ts';
import { annotateHed, annotateLineart } from './lines.ts';
import { annotatorModel } from './model.ts';
import { readOnnxSignature } from '../../formats/onnx-reader.ts';
import { fakeDepthModel, fakeHedModel, fakeLineartModel, writeModel } from './synthetic-annotators.test-support.ts';
import { syntheticModelLoader } from './synthetic-model-loader.test-support.ts';

const { dir, load } = syntheticModelLoader('maps');

/** A picture whose pixels are f(x, y) = [r, g, b]. */
function picture(width: number, height: number, f: (x: number, y: number) => number[]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), (y * width + x) * 3);
  return { width, height, data };
}

test('Depth Anything input size: short side 518, sides multiples of 14, aspect kept (lower_bound)', () => {
  assert.deepEqual(depthInputSize(640, 480), { width: 686, height: 518 });
  assert.deepEqual(depthInputSize(480, 640), { width: 518, height: 686 });
  assert.deepEqual(depthInputSize(1000, 1000), { width: 518, height: 518 });
  assert.deepEqual(depthInputSize(100, 50), { width: 1036, height: 518 });
  assert.deepEqual(depthInputSize(763, 518), { width: 756, height: 518 }); // 763 / 14 = 54.5: numpy rounds halves to even
});

test('Depth Anything input: RGB / 255 with ImageNet mean and std, channels in RGB order', () => {
  const img = picture(2, 1, (x) => (x === 0 ? [255, 0, 128] : [0, 255, 0]));
  const t = depthInput(img, 2, 1); // [1, 3, 1, 2]
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  close(t[0], (1 - 0.485) / 0.229);
  close(t[1], (0 - 0.485) / 0.229);
  close(t[2], (0 - 0.456) / 0.224);
  close(t[3], (1 - 0.456) / 0.224);
  close(t[4], (128 / 255 - 0.406) / 0.225);
});

// R rises left to right, G falls: a model answering channel 0 (R) sees depth rise to the right.
const ramp = picture(42, 28, (x) => [6 * x, 255 - 6 * x, 128]);

test('depth: the relative depth is min-max normalised to 0..255 (near = light) at the picture size', async () => {
  for (const [name, opts] of [
    ['depth-v2.onnx', {}],
    ['depth-v1.onnx', { input: 'image', output: 'depth', rank: 4 as const }],
  ] as const) {
    const model = await load(name, fakeDepthModel({ width: 42, height: 28 }, opts), 'depth-anything');
    const grey = await annotateDepth(model, ramp, { width: 42, height: 28 });
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 42; x++) assert.equal(grey[y * 42 + x], Math.round((255 * x) / 41), `${name} at ${x},${y}`);
    }
  }
  // channel 1 (G) falls to the right: the map is mirrored, which a BGR/RGB mix-up would not give
  const green = await load('depth-g.onnx', fakeDepthModel({ width: 42, height: 28 }, { channel: 1 }), 'depth-anything');
  const mirrored = await annotateDepth(green, ramp, { width: 42, height: 28 });
  assert.deepEqual([mirrored[0], mirrored[41], mirrored[20]], [255, 0, Math.round(255 * (21 / 41))]);
});

test('depth: resized bilinearly to the hint size, still spanning 0..255', async () => {
  const model = await load('depth-big.onnx', fakeDepthModel({ width: 42, height: 28 }), 'depth-anything');
  const grey = await annotateDepth(model, ramp, { width: 84, height: 56 });
  assert.equal(grey.length, 84 * 56);
  for (let y = 0; y < 56; y++) {
    // half-pixel centres: output x samples input (x + 0.5) / 2 - 0.5, clamped to the edges
    assert.deepEqual([grey[y * 84], grey[y * 84 + 1], grey[y * 84 + 83]], [0, Math.round((255 * 0.25) / 41), 255]);
    for (let x = 1; x < 84; x++) assert.ok(grey[y * 84 + x] >= grey[y * 84 + x - 1]);
  }
  assert.equal(grey[2], Math.round((255 * 0.75) / 41));
});

// White with a black bar at x = 10, 11.
const bar = picture(32, 32, (x) => (x === 10 || x === 11 ? [0, 0, 0] : [255, 255, 255]));

test('lineart (informative drawings): dark lines on white become white lines on black', async () => {
  const model = await load('lineart.onnx', fakeLineartModel({ width: 32, height: 32 }, 'sigmoid'), 'lineart');
  const grey = await annotateLineart(model, bar, { width: 32, height: 32 });
  // white: sigmoid(5) * 255 = 253.29 -> 253 -> 255 - 253; black: sigmoid(-5) * 255 = 1.71 -> 1 -> 254
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) assert.equal(grey[y * 32 + x], x === 10 || x === 11 ? 254 : 2, `${x},${y}`);
});

test('lineart (anime): input in [-1, 1], a Tanh map out, inverted', async () => {
  const model = await load('lineart-anime.onnx', fakeLineartModel({ width: 32, height: 32 }, 'anime'), 'lineart');
  const grey = await annotateLineart(model, bar, { width: 32, height: 32 });
  // white: (tanh(3) + 1) / 2 * 255 = 254.37 -> 254 -> 1; black: (1 - tanh(3)) / 2 * 255 = 0.63 -> 0 -> 255
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) assert.equal(grey[y * 32 + x], x === 10 || x === 11 ? 255 : 1, `${x},${y}`);
});

test('soft edge (HED): side outputs of the 0..255 picture averaged, then sigmoid, not inverted', async () => {
  const model = await load('hed.onnx', fakeHedModel({ width: 32, height: 32 }), 'hed');
  const grey = await annotateHed(model, bar, { width: 64, height: 64 });
  // mean of the sides = m * 6/255 - 3: white sigmoid(3) * 255 = 242.9 -> 242; black sigmoid(-3) * 255 = 12.09 -> 12
  assert.equal(grey.length, 64 * 64);
  assert.deepEqual([grey[0], grey[63], grey[5 * 64 + 8]], [242, 242, 242]);
  assert.deepEqual([grey[21], grey[22]], [12, 12]); // x = 21, 22 sample the bar's centre at 10.25 and 10.75
});

test('a model of another kind is refused before it runs', async () => {
  const file = writeModel(path.join(dir, 'not-depth.onnx'), fakeLineartModel({ width: 16, height: 16 }, 'sigmoid'));
  assert.throws(() => annotatorModel('not-depth.onnx', readOnnxSignature(file), 'depth-anything', { run: async () => ({}) }), {
    message: /not-depth\.onnx: expected a depth-anything model, but the file is a lineart model; rescan the library/,
  });
});
