// Reading dataset folders without the engine: plain pictures with captions, pairs by folder, what is left out;
// a huge picture costs main its file size, and 1000 pictures never hold main's event loop for 100 ms.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { hugePng16 } from '../formats/huge-png.test-support.ts';
import { openLibraryDatabase } from '../library/database.ts';
import { testCondition, testPicture } from '../engine/training/training-data.test-support.ts';
import { scanDatasetFolder } from './dataset-import.ts';
import { TrainingStore } from './training-store.ts';

const folder = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-import-'));

test('plain pictures: captions from .txt (BOM and spaces trimmed, empty when missing), JPEG named as unsupported', async () => {
  const dir = folder();
  fs.writeFileSync(path.join(dir, 'a.png'), testPicture(200, 300, 1));
  fs.writeFileSync(path.join(dir, 'a.txt'), '\uFEFF  hbstyle, a cat \n');
  fs.writeFileSync(path.join(dir, 'b.png'), testPicture(256, 256, 2));
  fs.writeFileSync(path.join(dir, 'c.jpg'), 'jpeg');
  fs.writeFileSync(path.join(dir, 'notes.md'), 'not a picture');
  const scan = await scanDatasetFolder(dir);
  assert.equal(scan.paired, false);
  assert.deepEqual(scan.items, [
    { file: 'a.png', conditionFile: null, width: 200, height: 300, caption: 'hbstyle, a cat' },
    { file: 'b.png', conditionFile: null, width: 256, height: 256, caption: '' },
  ]);
  assert.deepEqual(scan.problems.map((p) => [p.file, p.kind]), [['c.jpg', 'unsupported']]);
  await assert.rejects(scanDatasetFolder(path.join(dir, 'nope')), /not a folder/);
});

test('pairs by folder: target/ and condition/ matched by name, captions beside the targets', async () => {
  const dir = folder();
  fs.mkdirSync(path.join(dir, 'target'));
  fs.mkdirSync(path.join(dir, 'Conditions'));
  for (const i of [1, 2, 3]) fs.writeFileSync(path.join(dir, 'target', `p${i}.png`), testPicture(256, 128, i));
  fs.writeFileSync(path.join(dir, 'target', 'p1.txt'), 'first');
  for (const i of [1, 2, 4]) fs.writeFileSync(path.join(dir, 'Conditions', `p${i}.png`), testCondition(256, 128, i));
  const scan = await scanDatasetFolder(dir);
  assert.equal(scan.paired, true);
  assert.deepEqual(scan.items.map((i) => [i.file, i.conditionFile, i.caption]), [
    ['target/p1.png', 'Conditions/p1.png', 'first'],
    ['target/p2.png', 'Conditions/p2.png', ''],
  ]);
  assert.deepEqual(scan.problems.map((p) => [p.file, p.kind]).sort(), [['Conditions/p4.png', 'unpaired'], ['target/p3.png', 'unpaired']]);
});

test('migration 0004 and the store: runs left running by a crash become interrupted, captions edit in place', () => {
  const db = openLibraryDatabase(':memory:') as Database.Database;
  const store = new TrainingStore(db);
  const id = store.insertDataset({ name: 'd', path: '/x', condition: 'none', problems: [], createdAt: 'now' }, [{ file: 'a.png', conditionFile: null, width: 256, height: 256, caption: 'a' }]);
  const item = store.items(id)[0];
  assert.equal(store.updateCaption(id, item.id, 'b'), true);
  assert.equal(store.updateCaption(id + 1, item.id, 'c'), false);
  assert.equal(store.items(id)[0].caption, 'b');
  const settings = { recipe: 'style', outputName: 'o', checkpointEvery: 10 } as never;
  const run = store.insertRun(id, settings, 100, 'now');
  store.updateRun(run, { state: 'running', jobId: 'j', step: 3, losses: [0.5, 0.25, 0.125] }, 'later');
  assert.deepEqual(store.run(run)!.losses, [0.5, 0.25, 0.125]);
  assert.equal(store.markUnfinishedInterrupted('again'), 1);
  const after = store.run(run)!;
  assert.equal(after.state, 'interrupted');
  assert.equal(after.jobId, null);
  assert.equal(after.error?.kind, 'interrupted');
  store.saveCalibration('k', { recipe: 'style', provider: 'cpu', mixedPrecision: false, secondsPerStep: 2, peakMemoryBytes: 1, presets: [] }, 'now');
  assert.equal(store.calibration('k')!.secondsPerStep, 2);
  db.close();
});

test('an 8192x8192 16-bit RGBA picture is checked without being decoded: main grows by its file, not 512 MB', async () => {
  const dir = folder();
  fs.copyFileSync(await hugePng16(), path.join(dir, 'huge.png'));
  assert.ok(fs.statSync(path.join(dir, 'huge.png')).size < 2 << 20, 'a small file');
  const before = process.resourceUsage().maxRSS; // kB, the high-water mark of this process
  const scan = await scanDatasetFolder(dir);
  const grownMb = (process.resourceUsage().maxRSS - before) / 1024;
  assert.deepEqual(scan.items.map((i) => [i.file, i.width, i.height]), [['huge.png', 8192, 8192]]);
  assert.ok(grownMb < 100, `main's peak memory grew by ${grownMb.toFixed(0)} MB`);
});

test('main answers within 100 ms while a folder of 1000 pictures is imported', async () => {
  const dir = folder();
  const picture = testPicture(256, 256, 7);
  for (let i = 0; i < 1000; i++) {
    fs.writeFileSync(path.join(dir, `p${String(i).padStart(4, '0')}.png`), picture);
    fs.writeFileSync(path.join(dir, `p${String(i).padStart(4, '0')}.txt`), `hbstyle, picture ${i}`);
  }
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const started = Date.now();
  const scan = await scanDatasetFolder(dir);
  lag.disable();
  assert.equal(scan.items.length, 1000);
  const worstMs = lag.max / 1e6;
  assert.ok(worstMs < 100, `the event loop was held for ${worstMs.toFixed(0)} ms (import took ${Date.now() - started} ms)`);
});
