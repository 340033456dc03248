import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLibraryDatabase } from './database.ts';
import { ModelStore, type StoredModel } from './model-store.ts';
import { defaultProbes, type FileProbe } from './probes.ts';
import { scanPaths, type ScanProgress } from './scanner.ts';
import { writeSafetensors } from './handmade-safetensors.test-support.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-scan-'));
}

function copyFixtures(dir: string, names: string[]): void {
  for (const name of names) fs.copyFileSync(path.join(FIXTURES, name), path.join(dir, name));
}

/** The default probes, counting how many files each opens. */
function countingProbes(): { probes: FileProbe[]; opened: string[] } {
  const opened: string[] = [];
  const probes = defaultProbes.map((p) => ({ ...p, probe: (file: string) => (opened.push(path.basename(file)), p.probe(file)) }));
  return { probes, opened };
}

function byName(rows: StoredModel[]): Map<string, StoredModel> {
  return new Map(rows.map((r) => [path.basename(r.path), r]));
}

test('scanning the fixture folder records every file, bad ones with their problem, and runs nothing', async () => {
  const marker = '/tmp/HINTBRUSH_PWNED';
  const markerBefore = fs.existsSync(marker);
  const db = openLibraryDatabase(':memory:');
  const result = await scanPaths(db, [FIXTURES]);
  const rows = byName(new ModelStore(db).all());
  const weights = fs.readdirSync(FIXTURES).filter((n) => /\.(safetensors|ckpt|pth)$/.test(n));
  assert.equal(result.files, weights.length);
  assert.equal(rows.size, weights.length);
  assert.equal(result.added, weights.length);

  const expected: Record<string, string> = {
    'tiny-sd15.safetensors': 'checkpoint',
    'tiny-controlnet.safetensors': 'controlnet',
    'tiny-controlnet-b.safetensors': 'controlnet',
    'tiny-controlnet-diffusers.safetensors': 'controlnet',
    'tiny-controlnet.ckpt': 'controlnet',
    'tiny-controlnet-b.pth': 'controlnet',
    'tiny-lora.safetensors': 'lora',
    'tiny-ctrlora-base.ckpt': 'ctrlora-base',
    'tiny-ctrlora-base.safetensors': 'ctrlora-base',
    'tiny-ctrlora-edge.ckpt': 'ctrlora-lora',
    'tiny-ctrlora-edge.safetensors': 'ctrlora-lora',
    'tiny-ctrlora-blob.ckpt': 'ctrlora-lora',
    'tiny-cnxs.ckpt': 'cnxs',
    'reference.safetensors': 'unknown',
    'training.safetensors': 'unknown',
    'control.safetensors': 'unknown',
    'hostile-eval.ckpt': 'unknown',
    'hostile-os-system.ckpt': 'unknown',
    'hostile-subprocess.ckpt': 'unknown',
  };
  assert.deepEqual(new Set(Object.keys(expected)), new Set(weights));
  for (const [name, kind] of Object.entries(expected)) {
    const row = rows.get(name)!;
    assert.equal(row.kind, kind, name);
    assert.match(row.sha256, /^[0-9a-f]{64}$/, name);
    assert.equal(row.shortHash, row.sha256.slice(0, 10));
    assert.match(String(row.details.legacyHash), /^[0-9a-f]{8}$/);
    if (name.startsWith('hostile-')) {
      assert.match(row.problem, /^hostile file: refuses to load/, name);
      assert.equal(row.details.error, 'hostile');
      assert.ok(!row.problem.includes(FIXTURES), 'the row shows the path already; the problem does not repeat it');
    } else if (kind === 'unknown') {
      assert.match(row.problem, /not a model Hintbrush recognises/, name);
    } else {
      assert.equal(row.problem, '', name);
    }
  }
  assert.equal(result.withProblems, 6);
  const lora = rows.get('tiny-lora.safetensors')!;
  assert.equal(lora.details.rank, 4);
  assert.equal(lora.details.alpha, 2);
  assert.deepEqual(lora.metadata, { ss_network_dim: '4', ss_network_alpha: '2.0' });
  assert.deepEqual(rows.get('tiny-controlnet.ckpt')!.metadata, { global_step: '1000', epoch: '3' });
  if (!markerBefore) assert.ok(!fs.existsSync(marker), 'no code from a hostile pickle ran');
  db.close();
});

test('a rescan of an unchanged folder opens and hashes nothing; a touched file is read again; vanished rows go', async () => {
  const dir = tempDir();
  copyFixtures(dir, ['tiny-lora.safetensors', 'tiny-controlnet.safetensors', 'hostile-eval.ckpt']);
  fs.mkdirSync(path.join(dir, 'nested', 'deeper'), { recursive: true });
  copyFixtures(path.join(dir, 'nested', 'deeper'), ['tiny-ctrlora-edge.safetensors']);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a model');
  const db = openLibraryDatabase(':memory:');
  const { probes, opened } = countingProbes();

  const first = await scanPaths(db, [dir], { probes });
  assert.deepEqual([first.files, first.added, first.hashed, first.unchanged], [4, 4, 4, 0]);
  const firstRows = byName(new ModelStore(db).all());

  opened.length = 0;
  const second = await scanPaths(db, [dir], { probes });
  assert.deepEqual([second.files, second.added, second.updated, second.hashed, second.unchanged], [4, 0, 0, 0, 4]);
  assert.deepEqual(opened, [], 'no file was opened');

  const touched = path.join(dir, 'tiny-lora.safetensors');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(touched, later, later);
  const third = await scanPaths(db, [dir], { probes });
  assert.deepEqual([third.updated, third.hashed, third.unchanged], [1, 1, 3]);
  assert.deepEqual(opened, ['tiny-lora.safetensors']);
  const relisted = byName(new ModelStore(db).all());
  assert.equal(relisted.get('tiny-lora.safetensors')!.id, firstRows.get('tiny-lora.safetensors')!.id, 'same row, updated');
  assert.equal(relisted.get('tiny-lora.safetensors')!.addedAt, firstRows.get('tiny-lora.safetensors')!.addedAt);

  fs.rmSync(path.join(dir, 'nested'), { recursive: true });
  const fourth = await scanPaths(db, [dir], { probes });
  assert.equal(fourth.removed, 1);
  assert.deepEqual([...byName(new ModelStore(db).all()).keys()].sort(), [
    'hostile-eval.ckpt',
    'tiny-controlnet.safetensors',
    'tiny-lora.safetensors',
  ]);
  db.close();
});

test('a newer probe version re-detects unchanged files without hashing them again', async () => {
  const dir = tempDir();
  copyFixtures(dir, ['tiny-lora.safetensors', 'tiny-cnxs.ckpt']);
  const db = openLibraryDatabase(':memory:');
  await scanPaths(db, [dir]);
  const before = byName(new ModelStore(db).all());
  const newer = defaultProbes.map((p) => ({ ...p, version: p.version + 1 }));
  const again = await scanPaths(db, [dir], { probes: newer });
  assert.deepEqual([again.updated, again.hashed], [2, 0]);
  const after = byName(new ModelStore(db).all());
  for (const [name, row] of after) {
    assert.equal(row.sha256, before.get(name)!.sha256);
    assert.equal(row.details.legacyHash, before.get(name)!.details.legacyHash);
    assert.equal(row.detectorVersion, before.get(name)!.detectorVersion + 1);
  }
  db.close();
});

test('scan progress: a listing event, every file named, bytes hashed, filesDone rising to the total, then done', async () => {
  const dir = tempDir();
  copyFixtures(dir, ['tiny-lora.safetensors', 'tiny-ctrlora-edge.safetensors', 'tiny-controlnet.safetensors']);
  const db = openLibraryDatabase(':memory:');
  const events: ScanProgress[] = [];
  await scanPaths(db, [dir], { onProgress: (p) => events.push(p) });
  assert.equal(events[0].phase, 'listing');
  const last = events.at(-1)!;
  assert.deepEqual([last.phase, last.filesDone, last.filesTotal], ['done', 3, 3]);
  const reading = events.filter((e) => e.phase === 'reading');
  assert.ok(reading.every((e) => e.filesTotal === 3));
  for (let i = 1; i < reading.length; i++) assert.ok(reading[i].filesDone >= reading[i - 1].filesDone);
  assert.deepEqual(
    [...new Set(reading.map((e) => path.basename(e.currentFile)))],
    ['tiny-controlnet.safetensors', 'tiny-ctrlora-edge.safetensors', 'tiny-lora.safetensors'],
  );
  const size = fs.statSync(path.join(dir, 'tiny-controlnet.safetensors')).size;
  assert.ok(reading.some((e) => e.currentFile.endsWith('tiny-controlnet.safetensors') && e.bytesDone === size && e.bytesTotal === size));
  db.close();
});

test('cancelling stops the scan with an AbortError and keeps what was written', async () => {
  const dir = tempDir();
  copyFixtures(dir, ['tiny-controlnet.safetensors', 'tiny-lora.safetensors', 'tiny-sd15.safetensors']);
  const db = openLibraryDatabase(':memory:');
  const controller = new AbortController();
  await assert.rejects(
    scanPaths(db, [dir], {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'reading' && p.filesDone === 1) controller.abort();
      },
    }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.deepEqual(new ModelStore(db).all().map((r) => path.basename(r.path)), ['tiny-controlnet']
    .map((n) => `${n}.safetensors`));
  const resumed = await scanPaths(db, [dir]);
  assert.deepEqual([resumed.unchanged, resumed.added], [1, 2]);
  db.close();
});

test('symlink loops are walked once; broken, empty and ONNX files get rows; a missing root keeps its rows', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'a'));
  copyFixtures(path.join(dir, 'a'), ['tiny-lora.safetensors']);
  fs.symlinkSync(dir, path.join(dir, 'a', 'loop')); // a/loop -> the root itself
  fs.symlinkSync(path.join(dir, 'a', 'tiny-lora.safetensors'), path.join(dir, 'same-lora.safetensors'));
  fs.symlinkSync(path.join(dir, 'nowhere.safetensors'), path.join(dir, 'dangling.safetensors'));
  fs.writeFileSync(path.join(dir, 'garbage.SAFETENSORS'), Buffer.from('{"this is": "not a header"}'));
  fs.writeFileSync(path.join(dir, 'empty.ckpt'), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, 'depth.onnx'), Buffer.from([0x08, 0x07, 0x12, 0x00]));
  writeSafetensors(path.join(dir, 'truncated.safetensors'), { w: { shape: [64, 64] } });
  fs.truncateSync(path.join(dir, 'truncated.safetensors'), 200);

  const db = openLibraryDatabase(':memory:');
  const result = await scanPaths(db, [dir]);
  const rows = byName(new ModelStore(db).all());
  assert.deepEqual([...rows.keys()].sort(), [
    'depth.onnx',
    'empty.ckpt',
    'garbage.SAFETENSORS',
    'tiny-lora.safetensors', // a/ sorts before same-lora.safetensors: the first path to the file wins
    'truncated.safetensors',
  ]);
  assert.equal(result.files, 5);
  assert.equal(rows.get('tiny-lora.safetensors')!.path, path.join(dir, 'a', 'tiny-lora.safetensors'));
  for (const name of ['empty.ckpt', 'garbage.SAFETENSORS', 'truncated.safetensors']) {
    assert.equal(rows.get(name)!.kind, 'unknown');
    assert.match(rows.get(name)!.problem, /^(corrupt file|unsupported file format): /, name);
  }
  const onnx = rows.get('depth.onnx')!;
  assert.equal(onnx.kind, 'unknown');
  assert.equal(onnx.layout, 'onnx');
  assert.match(onnx.problem, /annotator/);

  const missing = path.join(dir, 'unplugged-drive');
  const kept = await scanPaths(db, [missing, dir]);
  assert.deepEqual(kept.missing, [missing]);
  assert.equal(new ModelStore(db).count(), 5);
  db.close();
});

test('a scan of the filesystem root or of /proc (an old root) walks nothing, says why, and keeps the rows', async () => {
  const dir = fs.realpathSync(tempDir());
  copyFixtures(dir, ['tiny-lora.safetensors']);
  const db = openLibraryDatabase(':memory:');
  await scanPaths(db, [dir]);
  const before = new ModelStore(db).all();
  const roots = process.platform === 'linux' ? ['/', '/proc'] : [path.parse(dir).root];
  const result = await scanPaths(db, roots, { complete: true });
  assert.deepEqual(result.refused.map((r) => r.path), roots);
  assert.match(result.refused[0].reason, /root of the file system/);
  assert.equal(result.files, 0);
  assert.equal(result.removed, 0);
  assert.deepEqual(new ModelStore(db).all(), before);
  db.close();
});

test('a file reached through two roots and a link is one row, by its path without links, whichever root comes first', async () => {
  const dir = fs.realpathSync(tempDir());
  const models = path.join(dir, 'models');
  fs.mkdirSync(models);
  copyFixtures(models, ['tiny-lora.safetensors']);
  fs.symlinkSync(models, path.join(dir, 'aaa-link'));
  const db = openLibraryDatabase(':memory:');
  const first = await scanPaths(db, [path.join(dir, 'aaa-link'), dir]);
  assert.equal(first.added, 1);
  const [row] = new ModelStore(db).all();
  assert.equal(row.path, path.join(models, 'tiny-lora.safetensors'));
  // the row follows its file when the path it was recorded by goes away, keeping its id
  fs.mkdirSync(path.join(dir, 'moved'));
  fs.renameSync(path.join(models, 'tiny-lora.safetensors'), path.join(dir, 'moved', 'tiny-lora.safetensors'));
  fs.symlinkSync(path.join(dir, 'moved', 'tiny-lora.safetensors'), path.join(models, 'tiny-lora.safetensors'));
  const second = await scanPaths(db, [dir], { complete: true });
  assert.deepEqual([second.added, second.removed], [0, 0]);
  const [after] = new ModelStore(db).all();
  assert.equal(after.id, row.id);
  assert.equal(after.path, path.join(models, 'tiny-lora.safetensors'), 'its recorded path still leads to the file');
  db.close();
});
