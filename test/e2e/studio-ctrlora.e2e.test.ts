// End to end: two CtrLoRA conditions from the tiny fixtures (edge and blob, each a hint kind of its own bound
// to tiny-ctrlora-base), an edge stroke and a blob painted on their layers, weights 0.6 and 0.4, a picture
// generated, and both weights found in the picture's PNG metadata (A1111 parameters) and in the history.
// Screenshots: test-results/studio-ctrlora-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseParameters, parseSettingsList } from '../../src-main/generation/a1111-parameters.ts';
import { readPngText } from '../../src-main/formats/png.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, generateAndWait, layerNames, openStudio, pixelsAt, setGenerationSize, stroke } from './studio-support.ts';

const session = e2eSession();

test('an edge and a blob hint through two CtrLoRA conditions, weighed 0.6 and 0.4', { timeout: 420_000 }, async () => {
  const { server, page, problems } = await session.open();
  await addFixtures(page);
  await openStudio(page);

  // The add-layer menu offers each condition LoRA of the library as a hint kind, explained in one line.
  await page.getByTestId('add-layer').click();
  const edgeItem = page.getByRole('menuitem', { name: /edge via CtrLoRA/ });
  const blobItem = page.getByRole('menuitem', { name: /blob via CtrLoRA/ });
  assert.equal(await edgeItem.count(), 1, 'one entry per condition, whatever its file formats');
  assert.match((await edgeItem.textContent()) ?? '', /CtrLoRA condition.*tiny-ctrlora-base/s);
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-ctrlora-menu');
  await edgeItem.click();

  // An edge: a line across the page.
  await page.getByTestId('tool-line').click();
  await stroke(page, [{ x: 60, y: 140 }, { x: 450, y: 380 }]);
  const onEdge = await pixelsAt(page, { x: 255, y: 260 });
  assert.ok(onEdge.some(([, , , a]) => a > 200), 'the edge shows on the canvas');

  // A blob: a filled ellipse on a second condition layer.
  await page.getByTestId('add-layer').click();
  await blobItem.click();
  await page.getByTestId('tool-shape').click();
  await page.keyboard.press('u'); // U again: rectangle -> ellipse
  await stroke(page, [{ x: 260, y: 90 }, { x: 440, y: 230 }]);
  assert.deepEqual((await layerNames(page)).slice(0, 2), ['blob via CtrLoRA', 'edge via CtrLoRA']);

  // Weights side by side: blob (top) 0.4, edge 0.6. The models were bound when the layers were made.
  await page.getByTestId('tab-generate').click();
  const rows = page.getByTestId('condition-row');
  assert.equal(await rows.count(), 2);
  await page.getByTestId('condition-weight').nth(0).fill('0.4');
  await page.getByTestId('condition-weight').nth(1).fill('0.6');
  const bound = await rows.evaluateAll((els) => els.map((e) => (e.querySelector('[data-testid="control-model"]') as HTMLSelectElement).selectedOptions[0]?.textContent));
  // The fixtures hold the edge condition twice (.ckpt and .safetensors): the menu tells namesakes apart.
  assert.equal(bound[0], 'tiny-ctrlora-blob');
  assert.match(bound[1] ?? '', /^tiny-ctrlora-edge · \.safetensors · [0-9a-f]{10}$/);
  await page.getByTestId('prompt').fill('a pebble on a (wet:1.1) road');
  await setGenerationSize(page, { side: 256 });
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-ctrlora-hints');

  // A long run, cancelled once it has started: no picture, no new layer, the button comes back.
  await page.getByTestId('steps').fill('150');
  await page.getByTestId('generate').click();
  await page.waitForFunction(() => /Step [1-9]/.test(document.querySelector('[data-testid="generate-progress"]')?.textContent ?? ''), null, { timeout: 120_000 });
  await page.getByTestId('generate-cancel').click();
  await page.getByTestId('generate').waitFor({ timeout: 60_000 });
  await page.getByTestId('tab-layers').click();
  assert.equal(await page.locator('[data-testid="layer-row"][data-kind="image"]').count(), 1, 'a cancelled run adds no layer');
  await page.getByTestId('tab-generate').click();

  await page.getByTestId('steps').fill('4');

  await generateAndWait(page, 240_000);
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="image"]').nth(1).waitFor({ timeout: 30_000 });
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-ctrlora-result');

  // Both weights are in the history record and in the picture's own metadata.
  const api = await connect(server);
  const { items } = await api.call('history.list', { limit: 5, offset: 0 });
  api.close();
  assert.equal(items.length, 1);
  const controls = items[0].settings.controls;
  assert.deepEqual(controls.map((c) => c.kind), ['ctrlora', 'ctrlora']);
  assert.deepEqual(controls.map((c) => [c.model.name, c.base?.name, c.weight]).sort(), [
    ['tiny-ctrlora-blob', 'tiny-ctrlora-base', 0.4],
    ['tiny-ctrlora-edge', 'tiny-ctrlora-base', 0.6],
  ]);
  const png = new Uint8Array(await (await fetch(`${server.origin}${items[0].imageUrl}?token=${server.token}`)).arrayBuffer());
  const parameters = readPngText(png).parameters;
  assert.ok(parameters, 'the PNG carries A1111 parameters');
  // Each condition is a "CtrLoRA N" entry of the settings line, its own settings list inside.
  const units = [...parseParameters(parameters).settings].filter(([key]) => /^CtrLoRA \d+$/.test(key)).map(([, value]) => parseSettingsList(value));
  assert.deepEqual(
    units.map((u) => [u.get('Model')?.split(' [')[0], Number(u.get('Weight'))]).sort(),
    [
      ['tiny-ctrlora-blob', 0.4],
      ['tiny-ctrlora-edge', 0.6],
    ],
    `both weights in the PNG metadata:\n${parameters}`,
  );

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history-item').first().click();
  await page.getByTestId('details-control').nth(1).waitFor();
  await page.locator('[data-testid="history-details"] details summary').click();
  await screenshot(page, 'studio-ctrlora-history');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
