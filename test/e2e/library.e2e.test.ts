// End to end: `hintbrush serve` with a fresh data folder, real Chromium, the fixtures folder added through
// the UI. Checks that the library lists what the detector found, with the right kinds, and that the page
// ran without console errors or CSP violations. Screenshot: test-results/library.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot } from '../support/browser.ts';
import { fixturesDir } from '../support/paths.ts';
import { e2eSession } from './e2e-session.test-support.ts';

const EXPECTED: Record<string, string> = {
  'tiny-sd15': 'checkpoint',
  'tiny-controlnet': 'controlnet',
  'tiny-controlnet-b': 'controlnet',
  'tiny-controlnet-diffusers': 'controlnet',
  'tiny-lora': 'lora',
};

interface Row {
  name: string;
  kind: string;
  badge: string;
  hash: string;
}

function readRows(page: Page): Promise<Row[]> {
  return page.$$eval('[data-testid="library-row"]', (els) =>
    els.map((el) => {
      const row = el as HTMLElement;
      return {
        name: row.dataset.name ?? '',
        kind: row.dataset.kind ?? '',
        badge: row.querySelector('[data-kind]')?.textContent?.trim() ?? '',
        hash: row.querySelector('[data-testid="copy-hash"]')?.textContent?.trim() ?? '',
      };
    }),
  );
}

const session = e2eSession();

test('adding the fixtures folder lists the checkpoint, the ControlNets and the LoRA with their kinds', { timeout: 180_000 }, async () => {
  const { page, problems } = await session.open();
  await page.locator('nav button[title^="Library"]').click();

  await page.getByTestId('library-empty').waitFor();
  await page.getByTestId('add-folder').click();
  await page.getByTestId('add-folder-path').fill(fixturesDir);
  await page.getByTestId('add-folder-submit').click();
  await page.getByTestId('add-folder-dialog').waitFor({ state: 'hidden' });

  // The scan runs as a job: wait until it is over and every expected model is on screen.
  await page.waitForFunction(
    (names) => {
      const shown = new Set(
        Array.from(document.querySelectorAll<HTMLElement>('[data-testid="library-row"]'), (r) => r.dataset.name),
      );
      return names.every((n) => shown.has(n)) && !document.querySelector('[data-testid="scan-progress"]');
    },
    Object.keys(EXPECTED),
    { timeout: 120_000 },
  );

  const rows = await readRows(page);
  for (const [name, kind] of Object.entries(EXPECTED)) {
    const mine = rows.filter((r) => r.name === name);
    assert.ok(mine.length > 0, `${name} is listed (rows: ${rows.map((r) => r.name).join(', ')})`);
    for (const row of mine) {
      assert.equal(row.kind, kind, `${name} is detected as ${kind}`);
      assert.match(row.hash, /^[0-9a-f]{10}$/, `${name} shows a 10-digit short hash`);
    }
  }
  assert.equal(rows.find((r) => r.name === 'tiny-sd15')?.badge, 'Checkpoint');
  assert.equal(rows.find((r) => r.name === 'tiny-lora')?.badge, 'LoRA');
  assert.equal(rows.find((r) => r.name === 'tiny-controlnet-diffusers')?.badge, 'ControlNet');

  // Files that are not models (the golden tensors, the hostile pickles) are listed with their problem.
  const problemTexts = await page.getByTestId('library-problem').allTextContents();
  assert.ok(problemTexts.length > 0, 'unusable files show a problem text');

  // The kind filter keeps only ControlNets.
  await page.locator('[data-testid="kind-filter"][data-kind="controlnet"]').click();
  const controlnets = await readRows(page);
  assert.ok(controlnets.length >= 3);
  assert.ok(controlnets.every((r) => r.kind === 'controlnet'));
  await page.locator('[data-testid="kind-filter"][data-kind="all"]').click();

  // The details pane has the full SHA-256, which starts with the short hash of the row.
  const checkpoint = page.locator('[data-testid="library-row"][data-name="tiny-sd15"]');
  await checkpoint.click();
  const sha = (await page.getByTestId('details-sha256').textContent())?.trim() ?? '';
  assert.match(sha, /^[0-9a-f]{64}$/);
  assert.ok(sha.startsWith(rows.find((r) => r.name === 'tiny-sd15')!.hash));
  assert.match((await page.getByTestId('details-path').textContent()) ?? '', /tiny-sd15\.safetensors$/);
  assert.equal(await page.getByTestId('checkpoint-picker').locator('option:checked').textContent(), 'tiny-sd15');
  assert.match((await page.getByTestId('library-counts').textContent()) ?? '', /\d+ models/);

  await page.mouse.move(0, 0); // no hover state in the picture
  await screenshot(page, 'library');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});

test('the status bar says so when the server goes away', { timeout: 60_000 }, async () => {
  const { server, page } = await session.open();
  await page.locator('nav button[title^="Library"]').click();
  await page.getByTestId('library-empty').waitFor();
  assert.equal(await page.getByTestId('connection-state').count(), 0, 'nothing to say while connected');
  await server.stop();
  const state = page.getByTestId('connection-state');
  await state.waitFor({ timeout: 15_000 });
  assert.match((await state.textContent()) ?? '', /Reconnecting/);
});
