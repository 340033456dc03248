// Files served from a folder are checked by real path: a link that leads out of the folder is refused wherever
// it sits on the way (the file itself, or a folder above it), one that stays inside is followed. The history's
// picture files (browser mode's /images route and the desktop app's hintbrush-image:// scheme both ask
// GenerationService.imageFile) are held to it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import type { HistoryStore } from '../library/history-store.ts';
import { containedFile, containedFileSync } from './contained-file.ts';
import { EventBus } from './event-bus.ts';
import { GenerationService, IMAGES_FOLDER, type GenerationServiceOptions } from '../app/generation-service.ts';

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-contained-')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('a plain file inside is answered by its real path; links out, folders, missing files and the root itself are not', async () => {
  const root = path.join(tmp, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(root, 'sub', 'a.png'), 'A');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'secret');
  fs.symlinkSync(path.join(root, 'sub', 'a.png'), path.join(root, 'inside-link.png'));
  fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(root, 'out-link.png'));
  fs.symlinkSync(tmp, path.join(root, 'up'));
  const cases: Array<[string, string | null]> = [
    [path.join(root, 'sub', 'a.png'), path.join(root, 'sub', 'a.png')],
    [path.join(root, 'inside-link.png'), path.join(root, 'sub', 'a.png')],
    [path.join(root, 'out-link.png'), null],
    [path.join(root, 'up', 'secret.txt'), null],
    [path.join(root, 'sub'), null],
    [path.join(root, 'nope.png'), null],
    [root, null],
  ];
  for (const [file, expected] of cases) {
    assert.equal(containedFileSync(root, file), expected, file);
    assert.equal((await containedFile(root, file))?.real ?? null, expected, file);
  }
  assert.equal((await containedFile(root, path.join(root, 'sub', 'a.png')))?.size, 1);
});

it('a history picture replaced by a link to a file elsewhere is not served', () => {
  const dataDir = path.join(tmp, 'data');
  const month = path.join(dataDir, IMAGES_FOLDER, '2026-12');
  fs.mkdirSync(month, { recursive: true });
  fs.writeFileSync(path.join(month, 'good.png'), 'PNG');
  fs.symlinkSync('/etc/passwd', path.join(month, 'evil.png'));
  const records: Record<number, string> = { 1: 'images/2026-12/good.png', 2: 'images/2026-12/evil.png', 3: '../outside.png' };
  const history = { get: (id: number) => (records[id] ? { imagePath: records[id] } : null) } as unknown as HistoryStore;
  const service = new GenerationService({ dataDir, mode: 'browser', history, events: new EventBus(), library: { list: () => [] } } as unknown as GenerationServiceOptions);
  assert.equal(service.imageFile(1), path.join(month, 'good.png'));
  assert.equal(service.imageFile(2), null);
  assert.equal(service.imageFile(3), null);
  assert.equal(service.imageFile(4), null);
});
