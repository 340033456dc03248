import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibraryItem } from '../common/contract.ts';
import { openLibraryDatabase } from './database.ts';
import { LibraryError, LibraryService } from './library-service.ts';
import { writeSafetensors } from './handmade-safetensors.test-support.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-service-'));
  const models = path.join(dir, 'models');
  fs.mkdirSync(models);
  for (const name of ['tiny-lora.safetensors', 'tiny-controlnet.safetensors']) {
    fs.copyFileSync(path.join(FIXTURES, name), path.join(models, name));
  }
  const db = openLibraryDatabase(path.join(dir, 'library.db'));
  const changes: number[] = [];
  let clock = Date.parse('2025-03-01T10:00:00Z');
  const service = new LibraryService(db, { onChanged: (n) => changes.push(n), now: () => new Date((clock += 1000)) });
  return { dir, models, db, service, changes };
}

test('add() scans a folder and list() returns contract LibraryItems', async () => {
  const { models, db, service, changes } = setup();
  const progress: number[] = [];
  const result = await service.add([models], (p) => progress.push(p.filesDone));
  assert.equal(result.added, 2);
  assert.ok(progress.length > 0);
  assert.deepEqual(changes, [2]);

  const items = service.list();
  assert.deepEqual(items.map((i) => i.name), ['tiny-controlnet', 'tiny-lora']);
  const lora = items.find((i) => i.kind === 'lora')!;
  const expectedKeys: (keyof LibraryItem)[] = [
    'id', 'path', 'name', 'kind', 'layout', 'family', 'problem', 'sizeBytes', 'sha256', 'shortHash', 'metadata',
    'triggerWords', 'details', 'addedAt',
  ];
  assert.deepEqual(Object.keys(lora).sort(), [...expectedKeys].sort());
  assert.equal(lora.path, path.join(models, 'tiny-lora.safetensors'));
  assert.equal(lora.layout, 'kohya');
  assert.equal(lora.family, 'sd15');
  assert.equal(lora.sizeBytes, fs.statSync(lora.path).size);
  assert.equal(lora.shortHash, lora.sha256.slice(0, 10));
  assert.deepEqual(lora.triggerWords, []);
  assert.equal(lora.details.rank, 4);
  assert.equal(service.get(lora.id)!.sha256, lora.sha256);

  const roots = service.roots();
  assert.equal(roots.length, 1);
  assert.equal(roots[0].path, models);
  assert.ok(roots[0].lastScanAt! > roots[0].addedAt);
  db.close();
});

test('add() refuses a path that does not exist or is not a model file, adding nothing', async () => {
  const { dir, models, db, service } = setup();
  const notes = path.join(dir, 'notes.txt');
  fs.writeFileSync(notes, 'hello');
  await assert.rejects(service.add([models, path.join(dir, 'nope')]), (e: unknown) => e instanceof LibraryError && e.kind === 'not-found');
  await assert.rejects(service.add([notes]), (e: unknown) => e instanceof LibraryError && e.kind === 'not-a-model-file' && e.message.includes(notes));
  assert.deepEqual(service.roots(), []);
  assert.deepEqual(service.list(), []);
  db.close();
});

test('remove() hides a file inside a folder root from rescans until it is added again', async () => {
  const { models, db, service } = setup();
  await service.add([models]);
  const lora = service.list().find((i) => i.kind === 'lora')!;
  assert.equal(service.remove(lora.id), true);
  assert.equal(service.remove(lora.id), false);
  assert.ok(fs.existsSync(lora.path), 'the file itself is never touched');

  await service.rescan();
  assert.deepEqual(service.list().map((i) => i.name), ['tiny-controlnet']);

  await service.add([lora.path]); // the user adds it explicitly: it comes back
  assert.deepEqual(service.list().map((i) => i.name), ['tiny-controlnet', 'tiny-lora']);
  db.close();
});

test('remove() of a model added as a single file drops its root too', async () => {
  const { dir, db, service } = setup();
  const single = path.join(dir, 'single.safetensors');
  writeSafetensors(single, { 'encoder.down.0.block.0.conv1.weight': { shape: [2, 2, 3, 3] }, 'decoder.up.0.block.0.conv1.weight': { shape: [2, 2, 3, 3] } });
  await service.add([single]);
  const [vae] = service.list();
  assert.equal(vae.kind, 'vae');
  assert.deepEqual(service.roots().map((r) => r.path), [single]);
  service.remove(vae.id);
  assert.deepEqual(service.roots(), []);
  await service.rescan();
  assert.deepEqual(service.list(), []);
  db.close();
});

test('trigger words come from the LoRA metadata', async () => {
  const { dir, db, service } = setup();
  const file = path.join(dir, 'style.safetensors');
  writeSafetensors(
    file,
    {
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': { shape: [2, 4, 1, 1] },
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': { shape: [4, 2, 1, 1] },
    },
    {
      ss_tag_frequency: JSON.stringify({ '10_hbstyle': { hbstyle: 20, 'a cat': 5 }, '5_reg': { 'a cat': 3, sky: 1 } }),
      'modelspec.trigger_phrase': 'hb style',
    },
  );
  await service.add([file]);
  const [item] = service.list();
  assert.deepEqual(item.triggerWords, ['hb style', 'hbstyle', 'a cat', 'sky']);
  assert.equal(item.metadata['modelspec.trigger_phrase'], 'hb style');
  db.close();
});

test('adding the parent of a known folder, which also holds a link to it, merges: same rows, same ids, one root', async () => {
  const { dir, models, db, service } = setup();
  await service.add([models]);
  const before = service.list();
  // the case: repro/models known, then repro/aaa-link -> models (sorts before it), then repro added
  fs.symlinkSync(models, path.join(dir, 'aaa-link'));
  const result = await service.add([dir]);
  assert.deepEqual([result.added, result.updated, result.removed, result.unchanged], [0, 0, 0, 2]);
  assert.deepEqual(service.list(), before, 'every row keeps its id and its path');
  assert.deepEqual(service.roots().map((r) => r.path), [dir], 'the child root merged into its parent');
  // a rescan through the merged root changes nothing either
  const again = await service.rescan();
  assert.deepEqual([again.added, again.removed], [0, 0]);
  assert.deepEqual(service.list(), before);
  db.close();
});

test('adding a folder inside a known one, or a known one through a link, adds no root and keeps the rows', async () => {
  const { dir, models, db, service } = setup();
  await service.add([dir]);
  const before = service.list();
  const inside = await service.add([models]);
  assert.deepEqual([inside.added, inside.removed], [0, 0]);
  const link = path.join(os.tmpdir(), `hintbrush-link-${process.pid}-${Date.now()}`);
  fs.symlinkSync(models, link);
  try {
    const viaLink = await service.add([link]);
    assert.deepEqual([viaLink.added, viaLink.removed], [0, 0]);
    assert.deepEqual(service.list(), before, 'the same rows, not re-homed under the link');
    assert.deepEqual(service.roots().map((r) => r.path), [dir]);
  } finally {
    fs.rmSync(link);
  }
  db.close();
});

test('a row reached through a link is forgotten when the link goes; its real file is recorded by its own path', async () => {
  const { dir, db, service } = setup();
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-elsewhere-'));
  fs.copyFileSync(path.join(FIXTURES, 'tiny-lora.safetensors'), path.join(elsewhere, 'far-lora.safetensors'));
  const library = path.join(dir, 'library');
  fs.mkdirSync(library);
  fs.symlinkSync(elsewhere, path.join(library, 'linked'));
  await service.add([library]);
  assert.deepEqual(service.list().map((i) => i.path), [path.join(library, 'linked', 'far-lora.safetensors')]);
  fs.rmSync(path.join(library, 'linked'));
  const result = await service.rescan();
  assert.equal(result.removed, 1);
  assert.deepEqual(service.list(), []);
  fs.rmSync(elsewhere, { recursive: true, force: true });
  db.close();
});

test('the root of the filesystem and pseudo filesystems are refused, and a link into /proc is not followed', async () => {
  const { dir, db, service } = setup();
  const fsRoot = path.parse(dir).root;
  await assert.rejects(service.add([fsRoot]), (e: unknown) => e instanceof LibraryError && e.kind === 'refused-folder' && /root of the file system/.test(e.message));
  if (process.platform === 'linux') {
    await assert.rejects(service.add(['/proc']), (e: unknown) => e instanceof LibraryError && e.kind === 'refused-folder' && /\/proc, a system folder/.test(e.message));
    await assert.rejects(service.add(['/sys/kernel']), (e: unknown) => e instanceof LibraryError && e.kind === 'refused-folder');
    fs.symlinkSync('/proc', path.join(dir, 'proc-link'));
    fs.symlinkSync(fsRoot, path.join(dir, 'root-link'));
    const started = Date.now();
    const result = await service.add([dir]);
    assert.ok(Date.now() - started < 5_000, 'neither the link to /proc nor the one to / was walked');
    assert.equal(result.added, 2);
    assert.ok(service.list().every((i) => i.path.startsWith(dir)));
  }
  assert.deepEqual(service.roots().map((r) => r.path), process.platform === 'linux' ? [dir] : []);
  db.close();
});
