/// <reference types="node" />
// The DocumentStore's edits and their undo/redo, with PixelSurface rasters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cloneRecord } from './changes.ts';
import { createDocumentRecord } from '../../../src-main/common/document/layers.ts';
import type { DocumentRecord, HintLayer } from '../../../src-main/common/document/model.ts';
import { PixelSurface, pixelSurfaces, type Rect } from './raster-store.ts';
import { DocumentStore, type EditInfo } from './store.ts';

function open(): { store: DocumentStore<PixelSurface>; edits: EditInfo[] } {
  const store = new DocumentStore({ surfaces: pixelSurfaces });
  store.load(createDocumentRecord({ id: 'doc-1', name: 'Test', width: 64, height: 48, now: '2026-01-01T00:00:00.000Z' }));
  const edits: EditInfo[] = [];
  store.onEdit((e) => edits.push(e));
  return { store, edits };
}

const snapshot = (store: DocumentStore): DocumentRecord => cloneRecord(store.doc);

/** Checks that undo brings back `before`, redo brings back `after`, and undo once more `before` again. */
function roundTrip(store: DocumentStore, before: DocumentRecord, label: string): void {
  const after = snapshot(store);
  assert.notDeepEqual(after, before, `${label}: the edit changed something`);
  assert.ok(store.undo(), `${label}: undo`);
  assert.deepEqual(snapshot(store), before, `${label}: undo restores`);
  assert.ok(store.redo(), `${label}: redo`);
  assert.deepEqual(snapshot(store), after, `${label}: redo reapplies`);
  store.undo();
}

/** Fills `rect` of a surface with one colour. */
const fill = (rect: Rect, rgba: number[]) => (s: PixelSurface) => {
  for (let y = rect.y; y < rect.y + rect.h; y++) for (let x = rect.x; x < rect.x + rect.w; x++) s.data.set(rgba, (y * s.width + x) * 4);
};

test('every kind of layer edit is one undo step that undo and redo reverse exactly', () => {
  const { store } = open();
  const hint = store.addHintLayer('scribble');
  const pose = store.addHintLayer('pose');
  const canny = store.addHintLayer('canny');
  const image = store.doc.layers[0];
  const edits: [string, () => void][] = [
    ['add', () => store.addMaskLayer()],
    ['remove', () => store.removeLayer(hint.id)],
    ['reorder', () => store.moveLayer(hint.id, 0)],
    ['rename', () => store.renameLayer(hint.id, 'Outline')],
    ['weight', () => store.setWeight(hint.id, 1.4)],
    ['start/end', () => store.setRange(hint.id, 0.2, 0.7)],
    ['enabled', () => store.setEnabled(hint.id, false)],
    ['opacity', () => store.setOpacity(image.id, 0.25)],
    ['lock', () => store.setLocked(hint.id, true)],
    ['visibility', () => store.setVisible(hint.id, false)],
    ['binding', () => store.setControl(hint.id, { family: 'ctrlora', modelId: 4, baseId: 2 })],
    ['add person', () => store.people.add(pose.id)],
    ['canny thresholds', () => store.setCannyThresholds(canny.id, 40, 90)],
    ['canny source', () => store.setCannySource(canny.id, image.id)],
    ['settings', () => store.updateSettings({ prompt: 'a lighthouse', steps: 30 })],
    ['document name', () => store.renameDocument('Harbour')],
    ['duplicate', () => store.duplicateLayer(hint.id)],
  ];
  for (const [label, edit] of edits) {
    const before = snapshot(store);
    edit();
    roundTrip(store, before, label);
  }
});

test('pose edits: keypoint drags join the gesture; hide/show and removal are steps of their own', () => {
  const { store } = open();
  const pose = store.addHintLayer('pose');
  const person = store.people.add(pose.id);
  const start = snapshot(store);
  store.mark('drag joint');
  for (let i = 1; i <= 5; i++) store.people.moveKeypoint(pose.id, person.id, 4, 10 + i, 20 + i);
  const dragged = (store.doc.layers.find((l) => l.id === pose.id) as HintLayer).people[0].keypoints[4];
  assert.deepEqual(dragged, { x: 15, y: 25, visible: true });
  store.undo();
  assert.deepEqual(snapshot(store), start, 'one undo takes back the whole drag');
  store.people.setKeypointVisible(pose.id, person.id, 4, false);
  store.people.movePerson(pose.id, person.id, 5, 0);
  store.undo();
  assert.equal((store.doc.layers.find((l) => l.id === pose.id) as HintLayer).people[0].keypoints[4].visible, false);
  store.people.remove(pose.id, person.id);
  assert.equal((store.doc.layers.find((l) => l.id === pose.id) as HintLayer).people.length, 0);
  store.undo();
  assert.equal((store.doc.layers.find((l) => l.id === pose.id) as HintLayer).people.length, 1);
});

test('a slider drag after a mark folds into one change with the first before and the last after', () => {
  const { store } = open();
  const hint = store.addHintLayer('depth');
  store.mark('weight');
  for (const w of [0.2, 0.5, 0.9, 1.3]) store.setWeight(hint.id, w);
  const steps = (store as unknown as { history: { steps(): { changes: unknown[] }[] } }).history.steps();
  assert.equal(steps.at(-1)!.changes.length, 1);
  store.undo();
  assert.equal((store.doc.layers.find((l) => l.id === hint.id) as HintLayer).weight, 1);
  store.redo();
  assert.equal((store.doc.layers.find((l) => l.id === hint.id) as HintLayer).weight, 1.3);
});

test('continuous edits after a discrete one open a step of their own', () => {
  const { store } = open();
  const hint = store.addHintLayer('depth');
  store.setWeight(hint.id, 0.5); // no mark: must not join "Add Depth"
  store.undo();
  assert.ok(store.doc.layers.some((l) => l.id === hint.id), 'the layer is still there');
  assert.equal((store.doc.layers.find((l) => l.id === hint.id) as HintLayer).weight, 1);
});

test('a stroke of several segments is one undo step holding one diff of its bounding box', () => {
  const { store, edits } = open();
  const hint = store.addHintLayer('scribble');
  const surface = store.rasters.get(hint.rasterId);
  const blank = surface.data.slice();
  store.mark('stroke');
  const segments: Rect[] = [
    { x: 2, y: 2, w: 4, h: 4 },
    { x: 5, y: 4, w: 4, h: 4 },
    { x: 8, y: 6, w: 6, h: 3 },
  ];
  for (const r of segments) store.paint(hint.rasterId, r, fill(r, [0, 0, 0, 255]));
  const painted = surface.data.slice();
  assert.ok(edits.slice(-3).every((e) => e.rasters.has(hint.rasterId) && !e.record), 'autosave hears pixel edits');
  store.mark('next'); // closes the stroke's step
  const history = (store as unknown as { history: { steps(): { label: string; changes: { type: string; rect?: Rect; before?: Uint8ClampedArray }[] }[] } }).history;
  const stroke = history.steps().find((s) => s.label === 'stroke')!;
  assert.equal(stroke.changes.length, 1);
  assert.deepEqual(stroke.changes[0].rect, { x: 2, y: 2, w: 12, h: 7 }, 'the union of the segments, not the layer');
  assert.equal(stroke.changes[0].before!.length, 12 * 7 * 4);
  store.undo();
  assert.deepEqual(surface.data, blank);
  store.redo();
  assert.deepEqual(surface.data, painted);
});

test('overlapping segments restore the pixels from before the first one', () => {
  const { store } = open();
  const hint = store.addHintLayer('scribble');
  const surface = store.rasters.get(hint.rasterId);
  store.mark('base');
  store.paint(hint.rasterId, { x: 0, y: 0, w: 10, h: 10 }, fill({ x: 0, y: 0, w: 10, h: 10 }, [9, 9, 9, 255]));
  const base = surface.data.slice();
  store.mark('stroke');
  store.paint(hint.rasterId, { x: 2, y: 2, w: 5, h: 5 }, fill({ x: 2, y: 2, w: 5, h: 5 }, [200, 0, 0, 255]));
  store.paint(hint.rasterId, { x: 4, y: 4, w: 8, h: 8 }, fill({ x: 4, y: 4, w: 8, h: 8 }, [0, 200, 0, 255]));
  store.undo();
  assert.deepEqual(surface.data, base);
});

test('bail rolls an abandoned gesture back to its mark and leaves nothing to redo', () => {
  const { store, edits } = open();
  const hint = store.addHintLayer('scribble');
  const surface = store.rasters.get(hint.rasterId);
  const before = snapshot(store);
  const pixels = surface.data.slice();
  store.mark('stroke');
  store.paint(hint.rasterId, { x: 0, y: 0, w: 8, h: 8 }, fill({ x: 0, y: 0, w: 8, h: 8 }, [1, 2, 3, 255]));
  store.setOpacity(hint.id, 0.3);
  const heard = edits.length;
  store.bail();
  assert.deepEqual(snapshot(store), before);
  assert.deepEqual(surface.data, pixels);
  assert.equal(store.state.canRedo, false);
  assert.ok(edits.length > heard && edits.at(-1)!.rasters.has(hint.rasterId), 'autosave hears the rollback');
  assert.ok(store.undo(), 'the step before the gesture is still there');
  assert.ok(!store.doc.layers.some((l) => l.id === hint.id));
});

test('bailToMark rolls back several steps at once', () => {
  const { store } = open();
  const before = snapshot(store);
  const mark = store.mark('experiment');
  const a = store.addHintLayer('depth');
  store.setWeight(a.id, 2);
  store.addHintLayer('lineart');
  store.bailToMark(mark);
  assert.deepEqual(snapshot(store), before);
});

test('a new edit after undo drops the redo stack; state mirrors the history', () => {
  const { store } = open();
  store.addHintLayer('depth');
  assert.equal(store.state.canUndo, true);
  assert.equal(store.state.undoLabel, 'Add Depth');
  store.undo();
  assert.equal(store.state.canRedo, true);
  store.addHintLayer('pose');
  assert.equal(store.state.canRedo, false);
  assert.equal(store.undo(), true);
  assert.equal(store.undo(), false, 'loading is not undoable');
});

test('removing a layer keeps its pixels for undo; the active layer moves to a neighbour', () => {
  const { store } = open();
  const hint = store.addHintLayer('scribble');
  store.mark('paint');
  store.paint(hint.rasterId, { x: 0, y: 0, w: 4, h: 4 }, fill({ x: 0, y: 0, w: 4, h: 4 }, [0, 0, 0, 255]));
  store.removeLayer(hint.id);
  assert.equal(store.doc.activeLayerId, store.doc.layers[0].id);
  store.undo();
  assert.equal(store.rasters.get(hint.rasterId).data[3], 255);
});

test('setActiveLayer is saved but not undoable; unknown layers are refused', () => {
  const { store, edits } = open();
  const hint = store.addHintLayer('depth');
  store.setActiveLayer(store.doc.layers[0].id);
  assert.equal(edits.at(-1)!.record, true);
  store.undo();
  assert.ok(!store.doc.layers.some((l) => l.id === hint.id), 'undo skipped the selection');
  assert.throws(() => store.setActiveLayer('nope'), /no layer nope/);
});
