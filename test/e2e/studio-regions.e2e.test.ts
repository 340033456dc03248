// End to end: two region layers painted with different prompts (a red dragon on the left, a stone castle on the
// right, soft edges), a picture generated, and both prompts and masks found in the history record, in the
// picture's own PNG (the hintbrush-regions chunk) and in the history view; then the region layers are deleted,
// the PNG is dropped on the history and "Use these settings" brings both regions back with their masks. The dragon's
// prompt box offers the library's LoRA as a tag (`<lora:tiny-lora:1>`, taken with Tab): it ties the LoRA to the
// region, is recorded resolved to the library's file, and stays in the prompt through the PNG and back.
// Screenshots: test-results/studio-regions-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { regionsFromPngText, REGIONS_PNG_KEYWORD } from '../../src-main/common/regions-contract.ts';
import { decodePng, readPngText } from '../../src-main/formats/png.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, addLayer, generateAndWait, layerNames, openStudio, pixelsAt, setGenerationSize, stroke } from './studio-support.ts';

const session = e2eSession();

/** Mean of a grey mask PNG over the left and right thirds (the painted shapes cover about 85% of their third). */
function sides(png: Uint8Array): { left: number; right: number; width: number; height: number } {
  const img = decodePng(png);
  const grey = (x: number, y: number) => img.data[(y * img.width + x) * img.channels];
  let left = 0;
  let right = 0;
  let n = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width / 3; x++) {
      left += grey(x, y);
      right += grey(img.width - 1 - x, y);
      n++;
    }
  }
  return { left: left / n, right: right / n, width: img.width, height: img.height };
}

async function paintRegion(page: Page, prompt: string, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  await addLayer(page, 'region');
  await page.getByTestId('region-explanation').waitFor();
  await page.getByTestId('region-prompt').fill(prompt);
  await page.getByTestId('tool-shape').click();
  await stroke(page, [from, to]);
}

test('two painted regions with their own prompts: recorded in history and PNG, restored from the PNG', { timeout: 420_000 }, async () => {
  const { server, page, problems } = await session.open();
  await addFixtures(page);
  await openStudio(page);

  // The add-layer menu explains what a region does where it is chosen.
  await page.getByTestId('tab-layers').click();
  await page.getByTestId('add-layer').click();
  assert.match((await page.getByTestId('add-region').textContent()) ?? '', /Paint where its own prompt applies/);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-regions-menu');
  await page.keyboard.press('Escape');

  await paintRegion(page, 'a red dragon', { x: 16, y: 40 }, { x: 200, y: 480 });
  assert.match((await page.getByTestId('region-explanation').textContent()) ?? '', /LoRA tags in its prompt .* act only inside the region/);
  await page.getByTestId('region-prompt').click();
  await page.keyboard.press('End');
  await page.keyboard.type(' <lora:tin');
  await page.getByTestId('region-prompt-suggestions').waitFor();
  assert.deepEqual(await page.getByTestId('region-prompt-suggestions').locator('button').allTextContents(), ['<lora:tiny-lora:1>']);
  await page.keyboard.press('Tab');
  assert.equal(await page.getByTestId('region-prompt').inputValue(), 'a red dragon <lora:tiny-lora:1>');
  assert.ok((await pixelsAt(page, { x: 100, y: 260 })).some(([, , , a]) => a > 0), 'the region shows on the canvas');
  await paintRegion(page, 'a stone castle', { x: 312, y: 40 }, { x: 496, y: 480 });
  await page.getByTestId('region-append-main').check();
  assert.deepEqual((await layerNames(page)).slice(0, 2), ['Region 2', 'Region 1']);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-regions-painted');

  await page.getByTestId('tab-generate').click();
  await page.getByTestId('prompt').fill('a fantasy landscape');
  await setGenerationSize(page, { side: 256, steps: 3 });
  await generateAndWait(page, 240_000);
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="image"]').nth(1).waitFor({ timeout: 30_000 });
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-regions-result');

  // Both prompts and both masks (at the generation size, on their own sides) in the history record...
  const api = await connect(server);
  const { items } = await api.call('history.list', { limit: 5, offset: 0 });
  api.close();
  assert.equal(items.length, 1);
  const recorded = items[0].settings.regions ?? [];
  assert.deepEqual(recorded.map((r) => [r.prompt, r.appendMain]), [['a red dragon <lora:tiny-lora:1>', false], ['a stone castle', true]]);
  assert.deepEqual(items[0].settings.regionLoras?.map((l) => l.map((u) => [u.model.name, u.weight])), [[['tiny-lora', 1]], []]);
  const [dragon, castle] = recorded.map((r) => sides(Buffer.from(r.maskPngBase64, 'base64')));
  assert.deepEqual([dragon.width, dragon.height], [256, 256]);
  assert.ok(dragon.left > 150 && dragon.right < 10, `dragon mask on the left: ${JSON.stringify(dragon)}`);
  assert.ok(castle.right > 150 && castle.left < 10, `castle mask on the right: ${JSON.stringify(castle)}`);
  // ...and in the picture's own metadata, beside A1111's parameters.
  const png = new Uint8Array(await (await fetch(`${server.origin}${items[0].imageUrl}?token=${server.token}`)).arrayBuffer());
  const text = readPngText(png);
  assert.match(text.parameters ?? '', /^a fantasy landscape\n/);
  const inPng = regionsFromPngText(text[REGIONS_PNG_KEYWORD] ?? '');
  assert.deepEqual(inPng, recorded);

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  await page.getByTestId('details-region').nth(1).waitFor();
  assert.deepEqual(await page.getByTestId('details-region-prompt').allTextContents(), ['a red dragon <lora:tiny-lora:1>', 'a stone castle']);
  assert.equal(await page.getByTestId('details-region-mask').count(), 2);
  await screenshot(page, 'studio-regions-history');

  // Reopening the PNG: delete both region layers, drop the picture on the history, use its settings.
  await openStudio(page);
  await page.getByTestId('tab-layers').click();
  for (let i = 0; i < 2; i++) {
    await page.locator('[data-testid="layer-row"][data-kind="region"]').first().click();
    await page.getByTestId('delete-layer').click();
  }
  assert.equal(await page.locator('[data-testid="layer-row"][data-kind="region"]').count(), 0);
  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history').evaluate((el, base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'regions.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, Buffer.from(png).toString('base64'));
  await page.getByTestId('details-region').nth(1).waitFor();
  await page.getByTestId('use-settings').click();
  await openStudio(page);
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="region"]').nth(1).waitFor();
  await page.locator('[data-testid="layer-row"][data-kind="region"]').nth(1).click(); // bottom region: the dragon
  assert.equal(await page.getByTestId('region-prompt').inputValue(), 'a red dragon <lora:tiny-lora:1>');
  // the canvas draws the active layer on a canvas of its own (pixelsAt: below, active, above)
  const shown = async (p: { x: number; y: number }) => (await pixelsAt(page, p))[1][3] > 0;
  assert.ok(await shown({ x: 100, y: 260 }), 'the restored dragon region covers the left');
  assert.ok(!(await shown({ x: 256, y: 260 })), 'the middle stays uncovered');
  await page.locator('[data-testid="layer-row"][data-kind="region"]').nth(0).click();
  assert.equal(await page.getByTestId('region-prompt').inputValue(), 'a stone castle');
  assert.equal(await page.getByTestId('region-append-main').isChecked(), true);
  assert.ok(await shown({ x: 400, y: 260 }), 'the restored castle region covers the right');
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-regions-restored');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
