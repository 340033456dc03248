// End to end: a scribble hint layer tied to a painted region (the inspector's Region choice, with its one-line
// explanation) goes through the real studio: the generation records the tie in the history entry (settings and
// the details panel) and in the picture's hintbrush-regions chunk, beside A1111's unchanged unit line. Then the
// region layer is deleted (the hint shows its region as deleted), the PNG is dropped on the history, and "Use
// these settings" restores the region layer and ties the hint to it again.
// Screenshots: test-results/studio-region-hints-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REGIONS_PNG_KEYWORD } from '../../src-main/common/regions-contract.ts';
import { readPngText } from '../../src-main/formats/png.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, addLayer, generateAndWait, openStudio, setGenerationSize, stroke } from './studio-support.ts';

const session = e2eSession();

test('a hint tied to a region: recorded in history and PNG, restored from the PNG', { timeout: 420_000 }, async () => {
  const { page, problems, server } = await session.open();
  await addFixtures(page);
  const api = await connect(server);
  const library = await api.call('library.list', {});
  const controlnet = library.find((i) => i.name === 'tiny-controlnet' && i.path.endsWith('.safetensors'))!.id;
  await openStudio(page);

  // A region on the right, then a scribble over the whole canvas, tied to that region.
  await addLayer(page, 'region');
  await page.getByTestId('region-prompt').fill('a stone castle');
  await page.getByTestId('tool-shape').click();
  await stroke(page, [{ x: 300, y: 30 }, { x: 500, y: 490 }]);
  await addLayer(page, 'hint:scribble');
  await page.getByTestId('inspector').getByTestId('control-model').selectOption(String(controlnet));
  await page.getByTestId('tool-brush').click();
  await stroke(page, [{ x: 40, y: 300 }, { x: 160, y: 200 }, { x: 300, y: 320 }, { x: 470, y: 220 }]);
  const region = page.getByTestId('hint-region');
  assert.deepEqual(await region.locator('option').allTextContents(), ['Whole picture', 'Region 1']);
  assert.match((await page.getByTestId('hint-region-explanation').textContent()) ?? '', /steers only where that region is painted/);
  await region.selectOption({ label: 'Region 1' });
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-region-hints-tied');

  await page.getByTestId('tab-generate').click();
  await page.getByTestId('prompt').fill('a fantasy landscape');
  await setGenerationSize(page, { side: 256, steps: 3 });
  await generateAndWait(page, 240_000);
  await page.getByTestId('tab-layers').click(); // the studio reopens on this tab below

  // The history entry: the unit tied to region 0, the region's prompt beside it.
  const { items } = await api.call('history.list', { limit: 5, offset: 0 });
  api.close();
  assert.equal(items.length, 1);
  const s = items[0].settings;
  assert.deepEqual(s.controls.map((c) => [c.model.name, c.layer, c.region]), [['tiny-controlnet', 'Scribble', 0]]);
  assert.deepEqual(s.regions?.map((r) => r.prompt), ['a stone castle']);
  // The PNG: A1111's unit line as sd-webui-controlnet writes it, the tie in Hintbrush's own chunk.
  const png = new Uint8Array(await (await fetch(`${server.origin}${items[0].imageUrl}?token=${server.token}`)).arrayBuffer());
  const text = readPngText(png);
  assert.match(text.parameters ?? '', /ControlNet 0: "Module: none, Model: tiny-controlnet \[[0-9a-f]{8}\], Weight: 1, Guidance Start: 0, Guidance End: 1, Resize Mode: Just Resize"/);
  const chunk = JSON.parse(text[REGIONS_PNG_KEYWORD] ?? '{}') as { version: number; regions: { prompt: string; hints?: string[] }[] };
  assert.equal(chunk.version, 2);
  assert.deepEqual(chunk.regions.map((r) => [r.prompt, r.hints]), [['a stone castle', ['ControlNet 0']]]);

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  await page.getByTestId('details-control-region').waitFor();
  assert.equal(await page.getByTestId('details-control-region').textContent(), 'region 1');
  await screenshot(page, 'studio-region-hints-history');

  // Delete the region layer: the hint keeps the tie, shown as a deleted region.
  await openStudio(page);
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="region"]').click();
  await page.getByTestId('delete-layer').click();
  await page.locator('[data-testid="layer-row"][data-kind="scribble"]').click();
  const chosen = () => region.evaluate((el) => (el as HTMLSelectElement).selectedOptions[0]?.textContent ?? '');
  assert.equal(await chosen(), 'Deleted region');

  // Reopen the PNG: the region layer comes back and the hint is tied to it again.
  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history').evaluate((el, base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'tied.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, Buffer.from(png).toString('base64'));
  await page.getByTestId('details-control-region').waitFor();
  await page.getByTestId('use-settings').click();
  await openStudio(page);
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="region"]').waitFor();
  await page.locator('[data-testid="layer-row"][data-kind="scribble"]').click();
  assert.equal(await chosen(), 'Region 1');
  assert.deepEqual(await region.locator('option:not([disabled])').allTextContents(), ['Whole picture', 'Region 1']);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-region-hints-restored');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
