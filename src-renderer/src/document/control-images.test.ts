/// <reference types="node" />
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildControlImages } from './control-images.ts';
import { readImage, pixelSurfaces, type PixelSurface } from './raster-store.ts';
import { DocumentStore } from './store.ts';
import { createDocumentRecord } from '../../../src-main/common/document/layers.ts';
import { renderPose } from '../../../src-main/common/hints/pose.ts';
import type { HintLayer } from '../../../src-main/common/document/model.ts';

function studio() {
  const store = new DocumentStore<PixelSurface>({ surfaces: pixelSurfaces });
  store.load(createDocumentRecord({ name: 'G', width: 64, height: 64 }));
  const read = (id: string) => (store.rasters.has(id) ? readImage(store.rasters.get(id)) : null);
  return { store, read };
}

test('enabled hint layers become units in layer order with their settings and RGB8 images', () => {
  const { store, read } = studio();
  const scribble = store.addHintLayer('scribble', { control: { family: 'controlnet', modelId: 3, baseId: null }, weight: 0.8, start: 0.1, end: 0.9 });
  const pose = store.addHintLayer('pose', { control: { family: 'ctrlora', modelId: 7, baseId: 2 } });
  store.people.add(pose.id);
  store.addHintLayer('depth', { control: { family: 'cnxs', modelId: 5, baseId: null }, enabled: false });
  store.mark('stroke');
  store.paint(scribble.rasterId, { x: 10, y: 10, w: 1, h: 1 }, (s) => s.data.set([0, 0, 0, 255], (10 * 64 + 10) * 4));
  const { units, mask, skipped } = buildControlImages(store.doc, read);
  assert.deepEqual(skipped, []);
  assert.deepEqual(
    units.map((u) => [u.hint, u.family, u.modelId, u.baseId, u.weight, u.start, u.end]),
    [
      ['scribble', 'controlnet', 3, null, 0.8, 0.1, 0.9],
      ['pose', 'ctrlora', 7, 2, 1, 0, 1],
    ],
  );
  const [s, p] = units;
  assert.equal(s.image.data.length, 64 * 64 * 3);
  assert.deepEqual([...s.image.data.subarray((10 * 64 + 10) * 3, (10 * 64 + 10) * 3 + 3)], [255, 255, 255], 'the stroke is white');
  assert.equal(s.image.data[0], 0, 'the paper is black');
  const people = (store.doc.layers.find((l) => l.id === pose.id) as HintLayer).people;
  assert.deepEqual(p.image.data, renderPose(people, 64, 64).data);
  assert.equal(mask, null, 'no mask layer');
});

test('layers without a model, or with nothing to do, are reported instead of sent', () => {
  const { store, read } = studio();
  store.addHintLayer('lineart');
  store.addHintLayer('condition', { control: { family: 'ctrlora', modelId: 4, baseId: null } });
  store.addHintLayer('depth', { control: { family: 'controlnet', modelId: 1, baseId: null }, weight: 0 });
  const { units, skipped } = buildControlImages(store.doc, read);
  assert.equal(units.length, 0);
  assert.deepEqual(
    skipped.map((s) => s.reason),
    ['Line art: choose a control model', 'Condition: choose the CtrLoRA Base ControlNet', 'Depth: its weight or step range is empty'],
  );
});

test('canny units take the edges of their source image layer; the mask is alpha times luma', () => {
  const { store, read } = studio();
  const image = store.doc.layers[0];
  store.mark('fill');
  store.paint(image.rasterId, { x: 0, y: 0, w: 64, h: 64 }, (s) => {
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) s.data.set(x < 32 ? [0, 0, 0, 255] : [255, 255, 255, 255], (y * 64 + x) * 4);
  });
  const canny = store.addHintLayer('canny', { control: { family: 'controlnet', modelId: 9, baseId: null } });
  store.setCannySource(canny.id, image.id);
  const mask = store.addMaskLayer();
  store.mark('mask');
  store.paint(mask.rasterId, { x: 0, y: 0, w: 2, h: 1 }, (s) => {
    s.data.set([255, 255, 255, 255], 0);
    s.data.set([255, 255, 255, 128], 4);
  });
  const out = buildControlImages(store.doc, read);
  const edges = out.units[0].image;
  const column = (x: number) => edges.data[(20 * 64 + x) * 3];
  assert.ok(column(31) === 255 || column(32) === 255, 'an edge where black meets white');
  assert.equal(column(10), 0);
  assert.deepEqual([...out.mask!.data.subarray(0, 3)], [255, 128, 0]);
});
