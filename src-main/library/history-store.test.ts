import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { GenerationSettings } from '../common/generation-contract.ts';
import { openLibraryDatabase, schemaVersion } from './database.ts';
import { HistoryStore, type NewHistoryRecord } from './history-store.ts';
import { migrations } from './migrations/index.ts';

const tempFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-history-')), 'library.sqlite');

function settings(overrides: Partial<GenerationSettings> = {}): GenerationSettings {
  return {
    prompt: 'a red fox in the snow',
    negative: 'blurry',
    width: 512,
    height: 512,
    steps: 20,
    cfg: 7.5,
    seed: 42,
    sampler: 'euler_a',
    clipSkip: 1,
    checkpoint: { id: null, name: 'dreamshaper_8', hash: '879db523c3', path: '/m/dreamshaper_8.safetensors' },
    controls: [
      {
        kind: 'controlnet',
        model: { id: null, name: 'canny', hash: 'd14c016b', path: '/m/canny.safetensors' },
        base: null,
        weight: 0.8,
        start: 0,
        end: 0.6,
        resizeMode: 'crop-and-resize',
      },
    ],
    loras: [{ model: { id: null, name: 'add_detail', hash: '7c6bad76eb54', path: '/m/add_detail.safetensors' }, weight: 0.6 }],
    denoisingStrength: null,
    initResizeMode: null,
    inpaint: false,
    batchSize: 1,
    batchCount: 1,
    batchIndex: 0,
    ...overrides,
  };
}

const record = (s: GenerationSettings, createdAt: string, jobId = 'job-1'): NewHistoryRecord => ({
  jobId,
  createdAt,
  imagePath: `images/${createdAt.slice(0, 7)}/${jobId}-${s.seed}.png`,
  settings: s,
  parameters: `${s.prompt}\nSteps: ${s.steps}, Seed: ${s.seed}`,
});

function addModel(db: BetterSqlite3.Database, file: string): number {
  const now = '2026-01-01T00:00:00.000Z';
  return Number(
    db
      .prepare(`INSERT INTO models (path, name, kind, size_bytes, mtime_ms, added_at, updated_at) VALUES (?, ?, 'checkpoint', 1, 1, ?, ?)`)
      .run(file, path.parse(file).name, now, now).lastInsertRowid,
  );
}

test('every setting is stored and read back; the A1111 text and picture path are kept', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new HistoryStore(db);
  const modelId = addModel(db, '/m/dreamshaper_8.safetensors');
  const s = settings({ checkpoint: { ...settings().checkpoint, id: modelId }, denoisingStrength: 0.4, initResizeMode: 'just-resize' });
  const id = store.insert(record(s, '2026-03-01T10:00:00.000Z'));
  const got = store.get(id)!;
  assert.deepEqual(got.settings, s);
  assert.equal(got.status, 'done');
  assert.equal(got.imagePath, 'images/2026-03/job-1-42.png');
  assert.match(got.parameters, /Seed: 42/);
  const row = db.prepare('SELECT * FROM generations WHERE id = ?').get(id) as Record<string, unknown>;
  assert.deepEqual(
    [row.prompt, row.width, row.steps, row.cfg, row.seed, row.sampler, row.model_id, row.model_hash, row.model_name, row.denoising_strength],
    ['a red fox in the snow', 512, 20, 7.5, 42, 'euler_a', modelId, '879db523c3', 'dreamshaper_8', 0.4],
  );
  assert.deepEqual(JSON.parse(row.controls_json as string)[0].weight, 0.8);
  assert.equal(JSON.parse(row.loras_json as string)[0].model.name, 'add_detail');
  assert.equal(store.get(id + 100), null);
  db.close();
});

test('search by prompt words, filter by model, page newest first', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new HistoryStore(db);
  const a = addModel(db, '/m/a.safetensors');
  const b = addModel(db, '/m/b.safetensors');
  const ck = (id: number) => ({ id, name: `m${id}`, hash: '', path: `/m/${id}` });
  const prompts = ['a red fox', 'a blue fox', 'a red car', '100% cotton_shirt', 'red FOX at night'];
  prompts.forEach((prompt, i) => store.insert(record(settings({ prompt, seed: i, checkpoint: ck(i % 2 ? b : a) }), `2026-03-0${i + 1}T00:00:00.000Z`)));
  const seeds = (q: Parameters<HistoryStore['list']>[0]) => store.list(q).items.map((r) => r.settings.seed);
  assert.deepEqual(seeds({}), [4, 3, 2, 1, 0]);
  assert.deepEqual(seeds({ query: 'red fox' }), [4, 0]); // every word, any case, any order
  assert.deepEqual(seeds({ query: 'blurry' }), [4, 3, 2, 1, 0]); // the negative prompt counts too
  assert.deepEqual(seeds({ query: '100%' }), [3]);
  assert.deepEqual(seeds({ query: '%' }), [3]); // wildcards are literal
  assert.deepEqual(seeds({ query: 'a_red' }), []); // '_' is no single-character wildcard
  assert.deepEqual(seeds({ modelId: b }), [3, 1]);
  assert.deepEqual(seeds({ query: 'fox', modelId: a }), [4, 0]);
  const page = store.list({ limit: 2, offset: 2 });
  assert.deepEqual([page.items.map((r) => r.settings.seed), page.total], [[2, 1], 5]);
  assert.equal(store.count(), 5);
  db.close();
});

test('removing a model from the library keeps its pictures (model id set to NULL); delete returns the row', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new HistoryStore(db);
  const id = addModel(db, '/m/x.safetensors');
  const h = store.insert(record(settings({ checkpoint: { id, name: 'x', hash: 'h', path: '/m/x.safetensors' } }), '2026-03-01T00:00:00.000Z'));
  const gone = store.insert(record(settings({ checkpoint: { id: 999, name: 'y', hash: 'h', path: '/m/y' } }), '2026-03-02T00:00:00.000Z'));
  assert.equal(store.get(gone)!.settings.checkpoint.id, null); // not in the library when recorded
  db.prepare('DELETE FROM models WHERE id = ?').run(id);
  const kept = store.get(h)!;
  assert.equal(kept.settings.checkpoint.id, null);
  assert.equal(kept.settings.checkpoint.name, 'x');
  assert.equal(store.delete(h)?.imagePath, 'images/2026-03/job-1-42.png');
  assert.equal(store.delete(h), null);
  assert.equal(store.count(), 1);
  db.close();
});

test('migration 0001 -> 0002: the library and job records survive and the history table appears', () => {
  const file = tempFile();
  const v1 = openLibraryDatabase(file, { migrations: migrations.slice(0, 1) });
  assert.equal(schemaVersion(v1), 1);
  const modelId = addModel(v1, '/m/kept.safetensors');
  v1.prepare(`INSERT INTO library_roots (path, added_at) VALUES ('/m', '2026-01-01')`).run();
  v1.prepare(
    `INSERT INTO jobs (id, kind, state, title, progress_json, created_at) VALUES ('j1', 'scan', 'done', 'Scan', '{"step":1,"total":1,"message":"Done"}', '2026-01-01')`,
  ).run();
  v1.close();

  const v2 = openLibraryDatabase(file, { migrations: migrations.slice(0, 2) });
  assert.equal(schemaVersion(v2), 2);
  assert.equal((v2.prepare('SELECT name FROM models WHERE id = ?').get(modelId) as { name: string }).name, 'kept');
  assert.equal((v2.prepare('SELECT count(*) AS n FROM library_roots').get() as { n: number }).n, 1);
  assert.equal((v2.prepare(`SELECT state FROM jobs WHERE id = 'j1'`).get() as { state: string }).state, 'done');
  const sql = (v2.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'generations'`).get() as { sql: string }).sql;
  assert.match(sql, /\)\s*STRICT$/);
  const store = new HistoryStore(v2);
  const id = store.insert(record(settings({ checkpoint: { id: modelId, name: 'kept', hash: '', path: '/m/kept.safetensors' } }), '2026-03-01T00:00:00.000Z'));
  v2.close();

  // and the history itself survives a reopen
  const again = openLibraryDatabase(file);
  assert.equal(new HistoryStore(again).get(id)?.settings.checkpoint.id, modelId);
  again.close();
});
