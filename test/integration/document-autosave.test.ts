/// <reference types="node" />
// Autosave against main's real SqliteDocumentStore (an in-memory library database) with node's PNG codec:
// debounced saves of only the changed rasters, rising revisions, a full round trip through open, conflicts
// with another window, failures kept dirty and retried, and reopening after a "crash" (a new store).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLibraryDatabase } from '../../src-main/library/database.ts';
import { SqliteDocumentStore } from '../../src-main/documents/document-store.ts';
import { decodePng, encodePng } from '../../src-main/formats/png.ts';
import type { DocumentSaveInput } from '../../src-main/common/documents-contract.ts';
import { DocumentAutosave, type SaveStatus } from '../../src-renderer/src/document/autosave.ts';
import { loadOpened, parseRecord, serialiseRecord, type PngCodec } from '../../src-renderer/src/document/serialise.ts';
import { pixelSurfaces, type PixelSurface, type RasterSurface } from '../../src-renderer/src/document/raster-store.ts';
import { DocumentStore } from '../../src-renderer/src/document/store.ts';

const codec: PngCodec = {
  encode: async (img) => encodePng({ width: img.width, height: img.height, channels: 4, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.length) }).toString('base64'),
  decode: async (b64) => {
    const png = decodePng(Buffer.from(b64, 'base64'));
    assert.equal(png.channels, 4);
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data) };
  },
};

/** Timers run by hand: `tick()` fires what is due. */
function manualTimers() {
  const pending = new Set<{ fn: () => void }>();
  return {
    setTimer: (fn: () => void) => {
      const t = { fn };
      pending.add(t);
      return t;
    },
    clearTimer: (t: unknown) => void pending.delete(t as { fn: () => void }),
    get count() {
      return pending.size;
    },
    async tick() {
      const due = [...pending];
      pending.clear();
      for (const t of due) t.fn();
      await new Promise((r) => setTimeout(r, 20));
    },
  };
}

async function setup() {
  const db = openLibraryDatabase(':memory:');
  const main = new SqliteDocumentStore(db);
  const sent: DocumentSaveInput[] = [];
  const statuses: SaveStatus[] = [];
  const timers = manualTimers();
  const store = new DocumentStore<PixelSurface>({ surfaces: pixelSurfaces });
  const autosave = new DocumentAutosave({
    store: store as unknown as DocumentStore<RasterSurface>,
    save: async (input) => {
      sent.push(input);
      return main.save(JSON.parse(JSON.stringify(input)));
    },
    encodePng: codec.encode,
    onStatus: (s) => statuses.push(s),
    ...timers,
  });
  const opened = main.create({ width: 64, height: 64, name: 'Autosaved' });
  const stored = await loadOpened(store as unknown as DocumentStore<RasterSurface>, opened, codec);
  autosave.track(opened.record.id, opened.revision, stored);
  return { db, main, sent, statuses, timers, store, autosave, id: opened.record.id };
}

const dab = (x: number, y: number, rgba = [0, 0, 0, 255]) => (s: PixelSurface) => s.data.set(rgba, (y * s.width + x) * 4);

test('edits are saved once after a quiet spell, with only the rasters that changed', async () => {
  const { sent, timers, store, autosave } = await setup();
  const image = store.doc.layers[0];
  const hint = store.addHintLayer('scribble');
  store.mark('stroke');
  for (let i = 0; i < 5; i++) store.paint(hint.rasterId, { x: i, y: i, w: 1, h: 1 }, dab(i, i));
  assert.equal(sent.length, 0, 'nothing is sent while editing');
  assert.equal(timers.count, 1, 'one pending save');
  await timers.tick();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].revision, 2);
  assert.deepEqual(sent[0].rasters.map((r) => r.id).sort(), [hint.rasterId, image.rasterId].sort(), 'the new layer, and the image layer main never had');
  assert.equal(autosave.status, 'saved');
  store.setWeight(hint.id, 0.5);
  await timers.tick();
  assert.equal(sent[1].revision, 3);
  assert.deepEqual(sent[1].rasters, [], 'a slider move sends the record only');
  store.mark('again');
  store.paint(hint.rasterId, { x: 9, y: 9, w: 1, h: 1 }, dab(9, 9));
  await timers.tick();
  assert.deepEqual(sent[2].rasters.map((r) => r.id), [hint.rasterId]);
});

test('round trip: what autosave stored opens into a new store equal to the edited one (crash recovery)', async () => {
  const { main, timers, store, autosave, id } = await setup();
  const pose = store.addHintLayer('pose');
  store.people.add(pose.id);
  const depth = store.addHintLayer('depth', { weight: 0.7 });
  store.mark('paint');
  store.paint(depth.rasterId, { x: 3, y: 4, w: 1, h: 1 }, dab(3, 4, [120, 120, 120, 200]));
  store.updateSettings({ prompt: 'a quiet harbour at dawn', seed: 42 });
  await timers.tick();
  await autosave.flush();
  // The app is gone; a fresh studio opens the last document.
  const again = new DocumentStore<PixelSurface>({ surfaces: pixelSurfaces });
  const last = main.list()[0];
  assert.equal(last.id, id);
  await loadOpened(again as unknown as DocumentStore<RasterSurface>, main.open(id), codec);
  assert.deepEqual(JSON.parse(serialiseRecord(again.doc)), { ...JSON.parse(serialiseRecord(store.doc)), updatedAt: again.doc.updatedAt });
  assert.deepEqual(again.rasters.get(depth.rasterId).data, store.rasters.get(depth.rasterId).data);
  assert.deepEqual(parseRecord(serialiseRecord(again.doc)), again.doc);
});

test('a layer removed and brought back by undo has its raster sent again', async () => {
  const { main, sent, timers, store, id } = await setup();
  const hint = store.addHintLayer('lineart');
  await timers.tick();
  store.removeLayer(hint.id);
  await timers.tick();
  assert.ok(!main.storedRasters(id).includes(hint.rasterId), 'main dropped it');
  store.undo();
  await timers.tick();
  assert.ok(sent.at(-1)!.rasters.some((r) => r.id === hint.rasterId));
  assert.ok(main.storedRasters(id).includes(hint.rasterId));
});

test('a newer save from another window puts autosave in conflict until overwrite', async () => {
  const { main, timers, store, autosave, id } = await setup();
  store.renameDocument('Mine');
  await timers.tick();
  main.save({ id, revision: 10, record: { ...main.open(id).record, name: 'Theirs' }, rasters: [] });
  store.renameDocument('Mine again');
  await timers.tick();
  assert.equal(autosave.status, 'conflict');
  assert.equal(main.open(id).record.name, 'Theirs');
  store.renameDocument('Still mine');
  assert.equal(timers.count, 0, 'no more autosaves while in conflict');
  await autosave.overwrite();
  assert.equal(autosave.status, 'saved');
  assert.equal(main.open(id).record.name, 'Still mine');
  assert.equal(main.open(id).revision, 11);
});

test('a failed save keeps everything dirty and is retried', async () => {
  const db = openLibraryDatabase(':memory:');
  const main = new SqliteDocumentStore(db);
  const timers = manualTimers();
  const store = new DocumentStore<PixelSurface>({ surfaces: pixelSurfaces });
  let down = true;
  const autosave = new DocumentAutosave({
    store: store as unknown as DocumentStore<RasterSurface>,
    save: async (input) => {
      if (down) throw Object.assign(new Error('the link is down'), { kind: 'disconnected' });
      return main.save(input);
    },
    encodePng: codec.encode,
    ...timers,
  });
  const opened = main.create({ width: 64, height: 64, name: 'A' });
  autosave.track(opened.record.id, 1, await loadOpened(store as unknown as DocumentStore<RasterSurface>, opened, codec));
  const hint = store.addHintLayer('depth');
  await timers.tick();
  assert.equal(autosave.status, 'error');
  assert.match(autosave.message, /link is down/);
  assert.equal(timers.count, 1, 'a retry is scheduled');
  down = false;
  await timers.tick();
  assert.equal(autosave.status, 'saved');
  assert.ok(main.storedRasters(opened.record.id).includes(hint.rasterId));
});

test('flush saves at once, waiting for a save in flight', async () => {
  const { sent, store, autosave } = await setup();
  store.addHintLayer('depth');
  await autosave.flush();
  assert.equal(sent.length, 1);
  assert.equal(autosave.dirty, false);
  await autosave.flush();
  assert.equal(sent.length, 1, 'nothing to save twice');
});
