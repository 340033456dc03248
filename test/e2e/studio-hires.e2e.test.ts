// Hires fix from the studio, end to end in Chromium against `hintbrush serve`: an ONNX image upscaler (built
// with the graph builder) is added to the library beside the tiny fixtures and recognised as an upscaler; a
// 128x128 picture is made with hires fix x2 through it; the history entry and the PNG (256x256) carry the hires
// settings, which A1111's parser (the Python port in test/support) reads back; the PNG dropped on the history
// and "Use these settings" restore the hires controls. Screenshots: test-results/studio-hires-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { decodePng } from '../../src-main/formats/png.ts';
import { tinyUpscalerGraph, writeGraph } from '../../src-main/engine/pipeline/tiny-upscaler.test-support.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, addModelFolder, generateAndWait, openStudio, setGenerationSize, setNumberInput } from './studio-support.ts';
import { a1111Read, hasA1111Reader } from '../../src-main/generation/a1111-reader.test-support.ts';

const session = e2eSession();

/** Back to the studio's Generate tab (openStudio waits for the Layers tab, which is not shown then). */
async function generateTab(page: Page): Promise<void> {
  await page.locator('nav button[title^="Studio"]').click();
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('hires-enable').waitFor();
}

test('hires fix from the studio with a library upscaler: history, PNG metadata, and the settings reused', { timeout: 600_000 }, async () => {
  const dataDir = await session.tempDir('hires');
  const upscalers = path.join(dataDir, 'upscalers');
  await mkdir(upscalers);
  writeGraph(path.join(upscalers, '2x-tiny-esrgan.onnx'), tinyUpscalerGraph(48, 48));
  const { server, page, problems } = await session.open({ dataDir });

  await addFixtures(page);
  await addModelFolder(page, upscalers, ['2x-tiny-esrgan']);
  const api = await connect(server);
  const upscaler = (await api.call('library.list', {})).find((i) => i.name === '2x-tiny-esrgan')!;
  assert.equal(upscaler.kind, 'upscaler', 'the ONNX file is recognised as an image upscaler');

  await openStudio(page);
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('prompt').fill('a lighthouse at dusk');
  await setGenerationSize(page, { side: 128, steps: 3 });
  await page.getByTestId('hires-enable').check();
  await page.getByTestId('hires-upscaler').selectOption(`model:${upscaler.id}`);
  await page.getByTestId('hires-scale').fill('2');
  await page.getByTestId('hires-steps').fill('2');
  await page.getByTestId('hires-denoise').fill('0.5');
  assert.match((await page.getByTestId('hires-target').textContent()) ?? '', /128×128 → 256×256/);
  await page.getByTestId('hires-scale').fill('4');
  await setNumberInput(page, 'gen-width', 768);
  assert.match((await page.getByTestId('hires-target').textContent()) ?? '', /768×128 → 3072×512 — above 2048 px a side/);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-hires-too-large');
  await setNumberInput(page, 'gen-width', 128);
  await page.getByTestId('hires-scale').fill('2');
  await page.getByTestId('hires-target').scrollIntoViewIfNeeded();
  await screenshot(page, 'studio-hires-settings');

  await generateAndWait(page, 300_000);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-hires-result');

  const history = await api.call('history.list', { limit: 10, offset: 0 });
  assert.equal(history.total, 1);
  const entry = history.items[0];
  assert.deepEqual([entry.settings.width, entry.settings.height, entry.settings.steps], [128, 128, 3]);
  assert.deepEqual({ ...entry.settings.hires, model: entry.settings.hires?.model?.name }, { upscaler: 'model', model: '2x-tiny-esrgan', scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 2, denoise: 0.5 });
  assert.match(entry.parameters, /Size: 128x128, .*Denoising strength: 0\.5, Hires upscale: 2, Hires steps: 2, Hires upscaler: 2x-tiny-esrgan/);
  const months = await readdir(path.join(dataDir, 'images'));
  const files = await readdir(path.join(dataDir, 'images', months[0]));
  const bytes = new Uint8Array(await readFile(path.join(dataDir, 'images', months[0], files.find((f) => f.endsWith('.png'))!)));
  const png = decodePng(bytes);
  assert.deepEqual([png.width, png.height], [256, 256]);
  assert.equal(png.text.parameters, entry.parameters);
  if (hasA1111Reader) {
    const { params } = a1111Read(png.text.parameters);
    assert.deepEqual([params['Size-1'], params['Denoising strength'], params['Hires upscale'], params['Hires steps'], params['Hires upscaler']], ['128', '0.5', '2', '2', '2x-tiny-esrgan']);
  }
  api.close();

  // The history shows the hires settings; the PNG dropped on the history gives them back to the studio.
  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  assert.match((await page.getByTestId('details-hires').textContent()) ?? '', /×2, 2x-tiny-esrgan, 2 steps, denoise 0\.5/);
  await screenshot(page, 'studio-hires-history');

  await generateTab(page);
  await page.getByTestId('hires-enable').uncheck();
  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history').evaluate((el, base64) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], 'hires.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, Buffer.from(bytes).toString('base64'));
  await page.locator('[data-testid="history-details"] .source').waitFor();
  await page.getByTestId('use-settings').click();
  await generateTab(page);
  assert.equal(await page.getByTestId('hires-enable').isChecked(), true);
  assert.equal(await page.getByTestId('hires-upscaler').inputValue(), `model:${upscaler.id}`);
  assert.equal(await page.getByTestId('hires-scale').inputValue(), '2');
  assert.equal(await page.getByTestId('hires-steps').inputValue(), '2');
  assert.equal(await page.getByTestId('hires-denoise').inputValue(), '0.5');
  assert.equal(await page.getByTestId('gen-width').inputValue(), '128');
  await page.getByTestId('hires-target').scrollIntoViewIfNeeded();
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-hires-reused');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
