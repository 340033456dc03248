import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  chooseSqliteBinding,
  currentSqliteRuntime,
  electronSqliteFile,
  nativeBindingFor,
  SqliteBindingError,
  type SqliteRuntime,
} from './sqlite-binding.ts';
import { openLibraryDatabase, schemaVersion } from './database.ts';
import { SCHEMA_VERSION } from './migrations/index.ts';

const require = createRequire(import.meta.url);
const betterSqliteDir = path.dirname(require.resolve('better-sqlite3/package.json'));
// The binary npm built (or fetched) for this Node, which better-sqlite3 loads by default.
const nodeBinary = path.join(betterSqliteDir, 'build', 'Release', 'better_sqlite3.node');

const runtime: SqliteRuntime = {
  electronVersion: undefined,
  packaged: false,
  platform: 'linux',
  arch: 'x64',
  nodeModulesDir: '/clone/node_modules',
  betterSqliteVersion: '12.11.1',
};

test('the database layer opens better-sqlite3 through an explicit nativeBinding under Node', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-binding-')), 'library.sqlite');
  const db = openLibraryDatabase(file, { nativeBinding: nodeBinary });
  try {
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    db.prepare(`INSERT INTO library_roots (path, added_at) VALUES (?, ?)`).run('/models', Date.now());
  } finally {
    db.close();
  }
  // Reopened with the WAL beside it: the read-only header probe loads the same binary.
  const again = openLibraryDatabase(file, { nativeBinding: nodeBinary });
  assert.deepEqual(again.prepare('SELECT path FROM library_roots').all(), [{ path: '/models' }]);
  again.close();
  // The option is really what gets loaded: a binary that is not there fails the open.
  assert.throws(
    () => openLibraryDatabase(':memory:', { nativeBinding: path.join(os.tmpdir(), 'no-such', 'better_sqlite3.node') }),
    /no-such/,
  );
});

test('Electron (by process.versions.electron) gets the Electron-ABI file, Node gets better-sqlite3 own binary', () => {
  assert.deepEqual(chooseSqliteBinding(runtime), { runtime: 'node' });
  assert.equal(nativeBindingFor(chooseSqliteBinding(runtime)), undefined);

  const electron = chooseSqliteBinding({ ...runtime, electronVersion: '38.2.0' });
  const expected = path.join(
    '/clone/node_modules',
    '.hintbrush',
    'better-sqlite3-12.11.1-electron-38.2.0-linux-x64',
    'better_sqlite3.node',
  );
  assert.deepEqual(electron, { runtime: 'electron', file: expected });
  assert.equal(nativeBindingFor(electron, (f) => f === expected), expected);
  // Another Electron version is another ABI, so another file.
  const other = chooseSqliteBinding({ ...runtime, electronVersion: '39.0.0' });
  assert.notEqual(other.runtime === 'electron' && other.file, expected);
  // The packaged app's better-sqlite3 was rebuilt for Electron by electron-builder: its own binary.
  assert.deepEqual(chooseSqliteBinding({ ...runtime, electronVersion: '38.2.0', packaged: true }), {
    runtime: 'electron-packaged',
  });
});

test('this test process is Node: better-sqlite3 loads its own binary', () => {
  const here = currentSqliteRuntime();
  assert.equal(here.electronVersion, undefined);
  assert.deepEqual(chooseSqliteBinding(here), { runtime: 'node' });
});

test('a missing Electron-ABI binary inside Electron is a typed error naming the file and the fix', () => {
  const binding = chooseSqliteBinding({ ...runtime, electronVersion: '38.2.0' });
  assert.equal(binding.runtime, 'electron');
  const file = binding.runtime === 'electron' ? binding.file : '';
  assert.throws(
    () => nativeBindingFor(binding, () => false),
    (e: unknown) =>
      e instanceof SqliteBindingError &&
      e.kind === 'electron-binding-missing' &&
      e.binding === file &&
      e.message.includes(file) &&
      /npm start/.test(e.message) &&
      /npm ci/.test(e.message) &&
      !/NODE_MODULE_VERSION/.test(e.message),
  );
});

test('the database layer inside a development Electron without the binary throws that error, opening nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-binding-'));
  const versions = process.versions as Record<string, string | undefined>;
  const proc = process as { defaultApp?: boolean };
  // Pretend to be `electron .` from a clone, with a version no install has fetched a binary for.
  Object.defineProperty(versions, 'electron', { value: '0.0.0-never-fetched', configurable: true, enumerable: true });
  proc.defaultApp = true;
  try {
    assert.throws(
      () => openLibraryDatabase(path.join(dir, 'library.sqlite')),
      (e: unknown) =>
        e instanceof SqliteBindingError &&
        e.kind === 'electron-binding-missing' &&
        e.binding.includes(`electron-0.0.0-never-fetched-${process.platform}-${process.arch}`),
    );
  } finally {
    delete versions.electron;
    delete proc.defaultApp;
  }
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('scripts/electron-sqlite.mjs puts the binary where the database layer looks for it', async () => {
  const script = new URL('../../scripts/electron-sqlite.mjs', import.meta.url).href;
  const { electronSqliteFile: scriptRule } = (await import(script)) as {
    electronSqliteFile: (o: Record<string, string>) => string;
  };
  const args = { nodeModulesDir: '/clone/node_modules', betterSqliteVersion: '12.11.1', platform: 'win32', arch: 'arm64' };
  assert.equal(scriptRule({ ...args, electronVersion: '38.2.0' }), electronSqliteFile(args, '38.2.0'));
});
