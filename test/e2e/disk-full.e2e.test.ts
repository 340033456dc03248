// A full disk, end to end in real Chromium against `hintbrush serve` whose data folder is a small tmpfs: the
// disk fills while a generation runs; the server keeps serving, the studio says why in words (the failed
// generation, and the document that cannot be saved next to "Not saved"), nothing half-written is left, and once
// space is freed the document saves by itself with every edit and the next generation lands in the history.
// Mounting needs root on Linux: elsewhere the test is skipped (the unit tests inject ENOSPC instead).
// Screenshots: test-results/disk-full-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { startServe, type ServeHandle } from '../support/serve.ts';
import { addFixtures, addLayer, inkAt, openStudio, setGenerationSize, stroke, waitSaved } from './studio-support.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-disk-full-'));
const dataDir = path.join(root, 'data');
fs.mkdirSync(dataDir);
const mounted = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', dataDir]).status === 0;

let browser: Browser | undefined;
let server: ServeHandle | undefined;

before(async () => {
  if (mounted) browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (mounted) spawnSync('umount', ['-l', dataDir]);
  fs.rmSync(root, { recursive: true, force: true });
});

/** Writes zeros into `file` until the disk refuses more; returns the bytes written. */
function fillDisk(file: string): number {
  const fd = fs.openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += fs.writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

const tempFiles = (dir: string) => (fs.readdirSync(dir, { recursive: true }) as string[]).filter((n) => n.endsWith('.tmp'));

test('the disk fills during a generation: the studio stays alive, says why, and loses nothing', { timeout: 600_000 }, async (t) => {
  if (!mounted || !browser) return t.skip('needs root on Linux to mount a small tmpfs as the data folder');
  server = await startServe({ dataDir });
  const { page, problems } = await openPage(browser, server.url);
  await addFixtures(page);
  await openStudio(page);
  await addLayer(page, 'hint:scribble');
  const WAVE = [{ x: 120, y: 330 }, { x: 240, y: 250 }, { x: 360, y: 330 }];
  await stroke(page, WAVE);
  await waitSaved(page);

  // A long generation; the disk fills while it runs.
  await page.getByTestId('tab-generate').click();
  await setGenerationSize(page, { side: 128, steps: 150 });
  await page.getByTestId('generate').click();
  await page.getByTestId('generate-progress').waitFor({ timeout: 60_000 });
  const filler = path.join(dataDir, 'filler.bin');
  assert.ok(fillDisk(filler) > 0);

  const failed = page.locator('[role="alert"]', { hasText: /Generation failed: The disk is full: could not save .*\.png in .*images/ });
  await failed.waitFor({ timeout: 300_000 });
  await page.mouse.move(0, 0);
  await screenshot(page, 'disk-full-generation');

  // Still serving; nothing half-written in the images folder, nothing in the history.
  const api = await connect(server);
  assert.equal((await api.call('app.info', {})).dataDir, dataDir);
  assert.equal((await api.call('history.list', { limit: 10, offset: 0 })).total, 0);
  const images = path.join(dataDir, 'images');
  assert.deepEqual(fs.existsSync(images) ? tempFiles(images) : [], []);
  assert.deepEqual(fs.existsSync(images) ? (fs.readdirSync(images, { recursive: true }) as string[]).filter((n) => n.endsWith('.png')) : [], []);

  // An edit cannot be saved: the reason is on the status line in words.
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="scribble"]').click();
  await page.getByTestId('tool-brush').click();
  await stroke(page, [{ x: 80, y: 450 }, { x: 430, y: 450 }]);
  await page.locator('[data-testid="save-state"][data-status="error"]').waitFor({ timeout: 30_000 });
  assert.match((await page.getByTestId('save-reason').textContent()) ?? '', /disk is full: could not save the document in .*data/);
  await screenshot(page, 'disk-full-not-saved');

  // Space comes back: the document saves by itself (autosave retries) with both strokes.
  fs.rmSync(filler);
  await waitSaved(page);
  assert.equal(await page.getByTestId('save-reason').count(), 0);
  const [summary] = await api.call('documents.list', {});
  const opened = await api.call('documents.open', { id: summary.id });
  assert.ok(opened.rasters.length >= 1, 'the scribble layer is stored');
  await page.reload();
  await openStudio(page);
  await page.locator('[data-testid="layer-row"][data-kind="scribble"]').click();
  assert.ok(await inkAt(page, { x: 240, y: 450 }), 'the edit made while the disk was full is kept');

  // The next generation goes through and lands in the history.
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('steps').fill('2');
  await page.getByTestId('generate').click();
  const deadline = Date.now() + 240_000;
  while ((await api.call('history.list', { limit: 10, offset: 0 })).total < 1) {
    assert.ok(Date.now() < deadline, `no picture in the history after freeing space:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="image"]').nth(1).waitFor({ timeout: 60_000 });
  api.close();
  await screenshot(page, 'disk-full-recovered');
  assert.deepEqual(problems.filter((p) => p.startsWith('page error')), [], 'no uncaught error in the page');
});
