import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { imageProtocolHandler } from './image-protocol.ts';

test('hintbrush-image://history/<id>.png serves history pictures and nothing else', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-image-'));
  const file = path.join(dir, 'p.png');
  writeFileSync(file, 'PNGDATA');
  try {
    const handler = imageProtocolHandler((id) => (id === 3 ? file : id === 4 ? path.join(dir, 'gone.png') : null));
    const ok = await handler(new Request('hintbrush-image://history/3.png'));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'PNGDATA');
    assert.equal(ok.headers.get('content-type'), 'image/png');
    assert.equal(ok.headers.get('access-control-allow-origin'), 'hintbrush://app');
    for (const url of [
      'hintbrush-image://history/4.png', // recorded, but the file is gone
      'hintbrush-image://history/5.png',
      'hintbrush-image://history/3.jpg',
      'hintbrush-image://other/3.png',
      'hintbrush-image://history/..%2f3.png',
      'hintbrush://history/3.png',
    ]) {
      assert.equal((await handler(new Request(url))).status, 404, url);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
