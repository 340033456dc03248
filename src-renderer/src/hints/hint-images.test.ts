/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADE20K_CLASSES, classOfColor, findClass, nearestClass, segmentationImage } from './ade20k.ts';
import { depthImage, hintImage, normalImage, whiteLinesOnBlack } from './hint-images.ts';
import type { RgbaPixels, RgbImage } from '../../../src-main/common/hints/images.ts';
import { createHintLayer } from '../../../src-main/common/document/layers.ts';

/** A 4x1 layer from RGBA tuples. */
const layer = (...px: number[][]): RgbaPixels => ({ width: px.length, height: 1, data: Uint8ClampedArray.from(px.flat()) });
const rgb = (img: RgbImage): number[][] => Array.from({ length: img.width * img.height }, (_, i) => [...img.data.subarray(i * 3, i * 3 + 3)]);

test('scribble: dark strokes on transparent or white become white lines on black', () => {
  const out = whiteLinesOnBlack(layer([0, 0, 0, 255], [0, 0, 0, 0], [255, 255, 255, 255], [0, 0, 0, 128]));
  assert.deepEqual(rgb(out), [[255, 255, 255], [0, 0, 0], [0, 0, 0], [128, 128, 128]]);
});

test('depth: near is light, unpainted is far (black)', () => {
  const out = depthImage(layer([255, 255, 255, 255], [0, 0, 0, 0], [100, 100, 100, 255], [200, 200, 200, 255]));
  assert.deepEqual(rgb(out), [[255, 255, 255], [0, 0, 0], [100, 100, 100], [200, 200, 200]]);
});

test('normal: unpainted is the flat normal', () => {
  assert.deepEqual(rgb(normalImage(layer([0, 0, 0, 0], [10, 20, 30, 255]))), [[128, 128, 255], [10, 20, 30]]);
});

test('ADE20K: 150 named classes in the standard palette', () => {
  assert.equal(ADE20K_CLASSES.length, 150);
  assert.deepEqual(ADE20K_CLASSES[0], { index: 0, name: 'wall', color: [120, 120, 120] });
  assert.deepEqual(findClass('sky')?.color, [6, 230, 230]);
  assert.deepEqual(findClass('person')?.color, [150, 5, 61]);
  assert.deepEqual(findClass('tree')?.color, [4, 200, 3]);
  assert.equal(ADE20K_CLASSES[149].name, 'flag');
  assert.equal(new Set(ADE20K_CLASSES.map((c) => c.name)).size, 150, 'names are unique');
  assert.equal(classOfColor(140, 140, 140)?.name, 'road', 'road and skyscraper share a colour: the first wins');
});

test('segmentation: edges snap to the nearest class colour, unpainted stays black', () => {
  const sky = findClass('sky')!.color;
  const out = segmentationImage(layer([...sky, 255], [sky[0] + 3, sky[1] - 4, sky[2], 200], [0, 0, 0, 0], [...sky, 60]));
  assert.deepEqual(rgb(out), [[...sky], [...sky], [0, 0, 0], [0, 0, 0]]);
  assert.equal(nearestClass(253, 254, 1).name, 'sculpture');
});

test('hintImage picks the convention of the layer kind', () => {
  const px = layer([0, 0, 0, 255], [0, 0, 0, 0]);
  assert.deepEqual(rgb(hintImage(createHintLayer('lineart'), { pixels: px, cannySource: null })), [[255, 255, 255], [0, 0, 0]]);
  assert.deepEqual(rgb(hintImage(createHintLayer('depth'), { pixels: px, cannySource: null })), [[0, 0, 0], [0, 0, 0]]);
  const canny = createHintLayer('canny');
  assert.deepEqual(rgb(hintImage(canny, { pixels: px, cannySource: null })), [[0, 0, 0], [0, 0, 0]], 'no source: no edges');
  const pose = hintImage(createHintLayer('pose'), { pixels: px, cannySource: null });
  assert.ok(pose.data.every((v) => v === 0), 'no people: black');
});
