// Main's document storage: create/open/save/delete, revisions (last write wins), raster checks, a document
// that survives the app being killed mid-session, and migration 0003 over a version-2 library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLibraryDatabase, schemaVersion } from '../library/database.ts';
import { migrations } from '../library/migrations/index.ts';
import { encodePng } from '../formats/png.ts';
import { createHintLayer } from '../common/document/layers.ts';
import type { DocumentRecord } from '../common/document/model.ts';
import { DocumentStoreError, SqliteDocumentStore } from './document-store.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tempFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-documents-')), 'library.sqlite');

/** A w x h RGBA PNG filled with one colour, as base64. */
const png = (w: number, h: number, rgba = [0, 0, 0, 255]): string =>
  encodePng({ width: w, height: h, channels: 4, data: Uint8Array.from({ length: w * h * 4 }, (_, i) => rgba[i % 4]) }).toString('base64');

function clock() {
  let t = Date.parse('2026-05-01T10:00:00.000Z');
  return () => new Date((t += 1000)).toISOString();
}

function withHint(record: DocumentRecord): DocumentRecord {
  const hint = createHintLayer('scribble');
  return { ...record, layers: [...record.layers, hint], activeLayerId: hint.id };
}

test('create, save with rasters, open: the record and the PNG bytes come back as saved', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new SqliteDocumentStore(db, { now: clock() });
  const created = store.create({ width: 80, height: 64, name: 'Harbour' });
  assert.equal(created.revision, 1);
  assert.equal(created.record.layers.length, 1);
  const record = withHint(created.record);
  const rasters = record.layers.map((l, i) => ({ id: l.rasterId, pngBase64: png(80, 64, [i * 50, 0, 0, 255]) }));
  assert.deepEqual(store.save({ id: record.id, revision: 2, record, rasters }), { accepted: true, revision: 2 });
  const opened = store.open(record.id);
  assert.deepEqual(opened.record, record);
  assert.equal(opened.revision, 2);
  assert.deepEqual(
    opened.rasters.sort((a, b) => a.id.localeCompare(b.id)),
    rasters.sort((a, b) => a.id.localeCompare(b.id)),
  );
  db.close();
});

test('a save whose revision is not above the stored one is refused and changes nothing', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new SqliteDocumentStore(db, { now: clock() });
  const { record } = store.create({ width: 64, height: 64, name: 'A' });
  const rasterId = record.layers[0].rasterId;
  store.save({ id: record.id, revision: 5, record: { ...record, name: 'newer' }, rasters: [{ id: rasterId, pngBase64: png(64, 64, [9, 9, 9, 255]) }] });
  for (const revision of [5, 4, 1]) {
    const result = store.save({ id: record.id, revision, record: { ...record, name: 'older' }, rasters: [{ id: rasterId, pngBase64: png(64, 64) }] });
    assert.deepEqual(result, { accepted: false, revision: 5 });
  }
  const opened = store.open(record.id);
  assert.equal(opened.record.name, 'newer');
  assert.equal(opened.rasters[0].pngBase64, png(64, 64, [9, 9, 9, 255]));
  assert.equal(store.save({ id: record.id, revision: 6, record: { ...record, name: 'newest' }, rasters: [] }).accepted, true);
  assert.equal(store.open(record.id).rasters.length, 1, 'rasters not sent stay as stored');
  db.close();
});

test('rasters of the wrong size or not PNG are refused before anything is written', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new SqliteDocumentStore(db, { now: clock() });
  const { record } = store.create({ width: 64, height: 64, name: 'A' });
  const id = record.layers[0].rasterId;
  assert.throws(
    () => store.save({ id: record.id, revision: 2, record, rasters: [{ id, pngBase64: png(32, 64) }] }),
    (e: unknown) => e instanceof DocumentStoreError && e.kind === 'bad-raster' && /32x64/.test(e.message),
  );
  assert.throws(() => store.save({ id: record.id, revision: 2, record, rasters: [{ id, pngBase64: Buffer.from('GIF89a').toString('base64') }] }), /not a PNG/);
  assert.equal(store.open(record.id).revision, 1);
  db.close();
});

test('removing a layer drops its raster; deleting a document drops all of them', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new SqliteDocumentStore(db, { now: clock() });
  const record = withHint(store.create({ width: 64, height: 64, name: 'A' }).record);
  const rasters = record.layers.map((l) => ({ id: l.rasterId, pngBase64: png(64, 64) }));
  store.save({ id: record.id, revision: 2, record, rasters });
  assert.equal(store.storedRasters(record.id).length, 2);
  const fewer = { ...record, layers: record.layers.slice(0, 1), activeLayerId: null };
  store.save({ id: record.id, revision: 3, record: fewer, rasters: [] });
  assert.deepEqual(store.storedRasters(record.id), [record.layers[0].rasterId]);
  assert.equal(store.delete(record.id), true);
  assert.equal(store.delete(record.id), false);
  assert.equal((db.prepare('SELECT count(*) AS n FROM document_rasters').get() as { n: number }).n, 0);
  assert.throws(() => store.open(record.id), (e: unknown) => e instanceof DocumentStoreError && e.kind === 'not-found');
  db.close();
});

test('list: newest opened first, with layer counts; a save of an unknown document keeps the work', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new SqliteDocumentStore(db, { now: clock() });
  const a = store.create({ width: 64, height: 64, name: 'A' }).record;
  const b = store.create({ width: 128, height: 64, name: 'B' }).record;
  store.open(a.id);
  assert.deepEqual(store.list().map((d) => d.name), ['A', 'B']);
  const orphan = withHint({ ...a, id: 'doc-restored', name: 'Restored' });
  assert.equal(store.save({ id: orphan.id, revision: 9, record: orphan, rasters: [] }).accepted, true);
  const listed = store.list().find((d) => d.id === 'doc-restored')!;
  assert.equal(listed.layerCount, 2);
  assert.equal(listed.revision, 9);
  assert.equal(store.list().find((d) => d.id === b.id)!.width, 128);
  db.close();
});

test('crash recovery: a document saved by a process that is then killed opens intact', () => {
  const file = tempFile();
  const child = path.join(here, 'crash-child.test-support.ts');
  const run = spawnSync(process.execPath, ['--import', 'tsx', child, file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.signal, 'SIGKILL', `the child must die by SIGKILL: ${run.stderr}`);
  const { id, rasterId, pngBase64 } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { id: string; rasterId: string; pngBase64: string };
  const db = openLibraryDatabase(file);
  const store = new SqliteDocumentStore(db);
  const opened = store.open(id);
  assert.equal(opened.revision, 7);
  assert.equal(opened.record.name, 'Before the crash');
  assert.deepEqual(opened.rasters, [{ id: rasterId, pngBase64 }]);
  assert.equal(store.list()[0].id, id, 'it is the last opened, so the studio reopens it');
  db.close();
});

test('migration 0002 -> 0003: library and history rows survive, the document tables appear STRICT', () => {
  const file = tempFile();
  const v2 = openLibraryDatabase(file, { migrations: migrations.slice(0, 2) });
  assert.equal(schemaVersion(v2), 2);
  v2.prepare(`INSERT INTO models (path, name, kind, size_bytes, mtime_ms, added_at, updated_at) VALUES ('/m/a.safetensors', 'a', 'checkpoint', 1, 1, 't', 't')`).run();
  v2.prepare(`INSERT INTO library_roots (path, added_at) VALUES ('/m', '2026-01-01')`).run();
  const generationColumns = (v2.prepare(`SELECT name FROM pragma_table_info('generations')`).all() as { name: string }[]).map((c) => c.name);
  assert.ok(generationColumns.includes('prompt'), 'version 2 has the history table');
  v2.close();

  const v3 = openLibraryDatabase(file, { migrations: migrations.slice(0, 3) });
  assert.equal(schemaVersion(v3), 3);
  assert.equal((v3.prepare('SELECT name FROM models').get() as { name: string }).name, 'a');
  assert.equal((v3.prepare('SELECT count(*) AS n FROM library_roots').get() as { n: number }).n, 1);
  for (const table of ['documents', 'document_rasters']) {
    const sql = (v3.prepare(`SELECT sql FROM sqlite_schema WHERE name = ?`).get(table) as { sql: string }).sql;
    assert.match(sql, /\)\s*STRICT$/, `${table} is STRICT`);
  }
  assert.throws(() => v3.prepare(`INSERT INTO document_rasters VALUES ('nope', 'r', x'00', 1, 1, 1)`).run(), /FOREIGN KEY/);
  const store = new SqliteDocumentStore(v3);
  const { record } = store.create({ width: 64, height: 64, name: 'After the upgrade' });
  v3.close();
  const again = openLibraryDatabase(file);
  assert.equal(new SqliteDocumentStore(again).open(record.id).record.name, 'After the upgrade');
  again.close();
});
