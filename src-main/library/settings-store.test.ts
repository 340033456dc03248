import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openLibraryDatabase, schemaVersion } from './database.ts';
import { migrations } from './migrations/index.ts';
import { SettingsStore } from './settings-store.ts';

test('migration 5 adds a STRICT settings table to a version-4 database and keeps its rows', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-settings-')), 'library.sqlite');
  const v4 = openLibraryDatabase(file, { migrations: migrations.slice(0, 4) });
  v4.prepare('INSERT INTO library_roots (path, added_at) VALUES (?, ?)').run('/models', '2026-01-01T00:00:00.000Z');
  assert.equal(schemaVersion(v4), 4);
  v4.close();

  const db = openLibraryDatabase(file, { migrations: migrations.slice(0, 5) });
  try {
    assert.equal(schemaVersion(db), 5);
    assert.equal((db.prepare('SELECT count(*) AS n FROM library_roots').get() as { n: number }).n, 1);
    const sql = (db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'settings'`).get() as { sql: string }).sql;
    assert.match(sql, /\)\s*STRICT$/);
    // json_valid guards the value column
    assert.throws(() => db.prepare('INSERT INTO settings VALUES (?, ?, ?)').run('x', 'not json', 'now'), /CHECK constraint/);
  } finally {
    db.close();
  }
});

test('the provider setting defaults to auto, is remembered across reopening, and a malformed row reads as the default', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-settings-')), 'library.sqlite');
  let db = openLibraryDatabase(file);
  assert.deepEqual(new SettingsStore(db).providerSetting(), { provider: 'auto', deviceId: 0 });
  new SettingsStore(db).setProviderSetting({ provider: 'cuda', deviceId: 1 });
  db.close();

  db = openLibraryDatabase(file);
  try {
    const store = new SettingsStore(db);
    assert.deepEqual(store.providerSetting(), { provider: 'cuda', deviceId: 1 });
    assert.throws(() => store.setProviderSetting({ provider: 'tpu' as 'cpu', deviceId: 0 }), /provider must be one of auto, cpu, cuda, dml, coreml, webgpu/);
    db.prepare(`UPDATE settings SET value_json = '{"provider":"cuda","deviceId":-3}'`).run();
    assert.deepEqual(store.providerSetting(), { provider: 'auto', deviceId: 0 });
  } finally {
    db.close();
  }
});
