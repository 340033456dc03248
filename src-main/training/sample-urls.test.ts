// Training samples are served where TrainingSample.imageUrl says: hintbrush-image://training/<run>/<step>.png in
// the desktop app (the image protocol), and only the files the run manager names.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { trainingSampleUrl } from '../common/training-contract.ts';
import { imageProtocolHandler } from '../electron/image-protocol.ts';

test('hintbrush-image://training/<run>/<step>.png serves a run sample and nothing else', async () => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hintbrush-sample-')), '100.png');
  writeFileSync(file, 'SAMPLE');
  const handler = imageProtocolHandler(() => null, (run, step) => (run === 7 && step === 100 ? file : null));
  const ok = await handler(new Request(trainingSampleUrl(7, 100, 'electron')));
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'SAMPLE');
  for (const url of ['hintbrush-image://training/7/99.png', 'hintbrush-image://training/7.png', 'hintbrush-image://history/7/100.png', 'hintbrush-image://training/7/..%2f100.png']) {
    assert.equal((await handler(new Request(url))).status, 404, url);
  }
  assert.equal(trainingSampleUrl(7, 100, 'browser'), '/training-samples/7/100.png');
});
