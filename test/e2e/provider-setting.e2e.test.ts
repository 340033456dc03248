// End to end: the provider list in real Chromium over `hintbrush serve`. CUDA does not start here (its NuGet
// libraries are absent): the list names the missing library and the fix. The provider choice and the GPU are
// picked under the list, and a server started again on the same data folder shows the same choice (SQLite).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot } from '../support/browser.ts';
import { startServe, type ServeHandle } from '../support/serve.ts';

let browser: Browser;
let dataDir = '';
const servers: ServeHandle[] = [];

before(async () => {
  browser = await launchBrowser();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hintbrush-e2e-provider-'));
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
  await rm(dataDir, { recursive: true, force: true });
});

async function openProviderList(page: Page) {
  await page.getByTestId('engine-badge').hover();
  const list = page.getByTestId('engine-badge').getByTestId('provider-list');
  await list.waitFor();
  return list;
}

test('the provider list names what CUDA lacks, and the provider choice survives a restart', { timeout: 180_000 }, async () => {
  let server = await startServe({ dataDir });
  servers.push(server);
  let { page, problems } = await openPage(browser, server.url);
  let list = await openProviderList(page);
  if (process.platform === 'linux' && process.arch === 'x64') {
    // The engine starts on ORT's one-line summaries; opening the list asks it for ORT's own log once.
    await list.getByText(/libonnxruntime_providers_cuda\.so/).first().waitFor({ timeout: 60_000 });
    const text = await list.innerText();
    assert.match(text, /libonnxruntime_providers_cuda\.so/);
    assert.match(text, /Fix: with internet access, run `node scripts\/postinstall\.mjs`/);
  }
  const choice = list.getByTestId('provider-choice');
  assert.equal(await choice.inputValue(), 'auto');
  await choice.selectOption('cuda');
  const device = list.getByTestId('provider-device');
  await device.waitFor();
  await device.selectOption('1');
  await page.waitForFunction(() => (document.querySelector('[data-testid="provider-device"]') as HTMLSelectElement | null)?.value === '1');
  await screenshot(page, 'provider-setting');
  assert.deepEqual(problems, []);
  await page.close();
  servers.splice(servers.indexOf(server), 1);
  await server.stop();

  server = await startServe({ dataDir });
  servers.push(server);
  ({ page, problems } = await openPage(browser, server.url));
  list = await openProviderList(page);
  await list.getByTestId('provider-device').waitFor();
  assert.equal(await list.getByTestId('provider-choice').inputValue(), 'cuda');
  assert.equal(await list.getByTestId('provider-device').inputValue(), '1');
  // CUDA cannot start here: the engine keeps running on the best provider that works.
  assert.match(await page.getByTestId('engine-badge').innerText(), /CPU/);
  assert.deepEqual(problems, []);
});
