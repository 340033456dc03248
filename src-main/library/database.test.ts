import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { LibraryDatabaseError, openLibraryDatabase, schemaVersion } from './database.ts';
import { migrations, SCHEMA_VERSION, type Migration } from './migrations/index.ts';
import { JobStore } from './job-store.ts';
import type { JobInfo } from '../common/contract.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-db-'));
}

test('an empty database gets every migration, WAL, foreign keys and STRICT tables', () => {
  const dir = tempDir();
  const file = path.join(dir, 'sub', 'library.db');
  const db = openLibraryDatabase(file);
  try {
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, migrations.length);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    const tables = db
      .prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
      .all() as { name: string; sql: string }[];
    assert.deepEqual(
      tables.map((t) => t.name),
      ['checkpoint_vae_defaults', 'document_rasters', 'documents', 'generations', 'jobs', 'library_exclusions', 'library_roots', 'models', 'settings', 'training_calibrations', 'training_datasets', 'training_items', 'training_runs'],
    );
    for (const t of tables) assert.match(t.sql, /\)\s*STRICT$/, `${t.name} is STRICT`);
    // STRICT refuses a value of the wrong type instead of storing it
    assert.throws(() =>
      db.prepare(`INSERT INTO library_roots (path, added_at) VALUES (?, ?)`).run('/x', Buffer.from('not text')),
    );
  } finally {
    db.close();
  }
  // reopening applies nothing and keeps the version
  const again = openLibraryDatabase(file);
  assert.equal(schemaVersion(again), SCHEMA_VERSION);
  again.close();
});

test('all pending migrations run in one transaction: a failing one leaves the database untouched', () => {
  const file = path.join(tempDir(), 'library.db');
  const broken: Migration = {
    version: migrations.length + 1,
    name: 'broken',
    up(db) {
      db.exec('CREATE TABLE half_done (x INTEGER) STRICT');
      throw new Error('boom');
    },
  };
  assert.throws(
    () => openLibraryDatabase(file, { migrations: [...migrations, broken] }),
    (e: unknown) => e instanceof LibraryDatabaseError && e.kind === 'migration-failed' && /broken.*boom/.test(e.message),
  );
  const raw = new BetterSqlite3(file, { readonly: true });
  assert.equal(raw.pragma('user_version', { simple: true }), 0);
  assert.equal((raw.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'`).get() as { n: number }).n, 0);
  raw.close();
});

test('migrations out of order are refused', () => {
  const skip: Migration = { version: migrations.length + 2, name: 'gap', up() {} };
  assert.throws(
    () => openLibraryDatabase(':memory:', { migrations: [...migrations, skip] }),
    (e: unknown) => e instanceof LibraryDatabaseError && e.kind === 'bad-migrations',
  );
});

test('a database from a newer Hintbrush is refused and left byte for byte as it was', () => {
  const file = path.join(tempDir(), 'library.db');
  const newer = new BetterSqlite3(file);
  newer.pragma('journal_mode = WAL'); // as a newer Hintbrush leaves it
  newer.exec('CREATE TABLE future (x INTEGER) STRICT; INSERT INTO future VALUES (42);');
  newer.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  newer.close();
  const before = fs.readFileSync(file);
  const mtimeBefore = fs.statSync(file).mtimeMs;

  assert.throws(
    () => openLibraryDatabase(file),
    (e: unknown) => {
      assert.ok(e instanceof LibraryDatabaseError);
      assert.equal(e.kind, 'newer-database');
      assert.equal(e.databaseVersion, SCHEMA_VERSION + 5);
      assert.equal(e.supportedVersion, SCHEMA_VERSION);
      assert.ok(e.message.includes(file));
      assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 5}\\b.*version ${SCHEMA_VERSION} at most`));
      return true;
    },
  );
  assert.deepEqual(fs.readFileSync(file), before);
  assert.equal(fs.statSync(file).mtimeMs, mtimeBefore);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['library.db'], 'no -wal or -shm file was created');
});

test('a file that is not a database is refused as corrupt, untouched', () => {
  const file = path.join(tempDir(), 'library.db');
  fs.writeFileSync(file, 'this is not sqlite at all, just some text padded out'.repeat(100));
  const before = fs.readFileSync(file);
  assert.throws(
    () => openLibraryDatabase(file),
    (e: unknown) => e instanceof LibraryDatabaseError && e.kind === 'corrupt-database',
  );
  assert.deepEqual(fs.readFileSync(file), before);
});

function job(id: string, createdAt: string, state: JobInfo['state'] = 'queued'): JobInfo {
  return {
    id,
    kind: 'scan',
    state,
    title: `Scan ${id}`,
    progress: { step: 0, total: 3, message: '' },
    error: null,
    createdAt,
    finishedAt: null,
  };
}

test('JobStore inserts, updates, lists newest first and fails unfinished jobs after a crash', () => {
  const db = openLibraryDatabase(':memory:');
  const store = new JobStore(db);
  store.insert(job('a', '2025-01-01T00:00:00.000Z'));
  store.insert(job('b', '2025-01-01T00:00:01.000Z'));
  store.insert(job('c', '2025-01-01T00:00:02.000Z'));
  assert.throws(() => store.insert(job('a', '2025-01-01T00:00:03.000Z')));

  const done: JobInfo = {
    ...job('a', '2025-01-01T00:00:00.000Z', 'done'),
    progress: { step: 3, total: 3, message: 'finished' },
    finishedAt: '2025-01-01T00:01:00.000Z',
  };
  assert.equal(store.update(done), true);
  assert.equal(store.update(job('zzz', '2025-01-01T00:00:00.000Z')), false);
  assert.deepEqual(store.get('a'), done);
  assert.equal(store.get('nope'), null);
  store.update({ ...job('b', '2025-01-01T00:00:01.000Z', 'running') });

  assert.deepEqual(
    store.list().map((j) => j.id),
    ['c', 'b', 'a'],
  );
  assert.equal(store.list({ limit: 1 }).length, 1);

  const failed = store.markRunningAsFailed('Hintbrush quit while this job ran', new Date('2025-01-02T00:00:00Z'));
  assert.equal(failed, 2);
  const b = store.get('b')!;
  assert.equal(b.state, 'failed');
  assert.deepEqual(b.error, { kind: 'interrupted', message: 'Hintbrush quit while this job ran' });
  assert.equal(b.finishedAt, '2025-01-02T00:00:00.000Z');
  assert.equal(store.get('a')!.state, 'done');

  assert.equal(store.prune(1), 2);
  assert.deepEqual(
    store.list().map((j) => j.id),
    ['c'],
  );
  db.close();
});
