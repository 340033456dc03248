// End to end: each kind of layer paints the way its control model reads it (no models needed): a canny hint
// previews the edges of an image layer and follows its threshold sliders, depth takes a gradient from light
// (near) to dark, segmentation paints an ADE20K class picked by name, the inpaint mask shows as a red overlay,
// a normal map is imported from a file. Then a PNG written by another A1111-compatible tool is dropped on the
// history: its settings are read, and "Use these settings" puts them into the studio.
// Screenshots: test-results/studio-hints-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { encodePng } from '../../src-main/formats/png.ts';
import { screenshot } from '../support/browser.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addLayer, openStudio, pixelsAt, stroke, toScreen, type Point } from './studio-support.ts';

const session = e2eSession();

/** The colour the active layer's own canvas shows at a point (the active layer is drawn alone). */
async function activeAt(page: Page, p: Point): Promise<[number, number, number, number]> {
  return (await pixelsAt(page, p))[1];
}

/** The most opaque colour the active layer shows along a short horizontal run (a 1-pixel edge, scaled). */
async function strongestNear(page: Page, p: Point): Promise<[number, number, number, number]> {
  let best: [number, number, number, number] = [0, 0, 0, 0];
  for (let dx = -4; dx <= 4; dx += 0.5) {
    const c = await activeAt(page, { x: p.x + dx, y: p.y });
    if (c[3] > best[3]) best = c;
  }
  return best;
}

test('each hint kind paints as its model reads it', { timeout: 240_000 }, async () => {
  const { page, problems } = await session.open();
  await openStudio(page);

  // An image layer with a pale grey square: the canny preview shows its outline at the default thresholds
  // (100/200) and loses it when the sliders are raised above the square's gradients.
  await page.getByTestId('tool-shape').click();
  await page.getByTestId('brush-color').fill('#d0d0d0');
  await stroke(page, [{ x: 60, y: 60 }, { x: 220, y: 220 }]);
  await addLayer(page, 'hint:canny');
  await page.getByTestId('canny-source').selectOption({ label: 'Image' });
  const edge = { x: 60, y: 140 };
  await page.waitForTimeout(600); // the preview is debounced
  const [r, g, b, a] = await strongestNear(page, edge);
  assert.ok(a > 200 && r > 200 && g < 120 && b > 150, `the canny preview draws the square's edge (${[r, g, b, a]})`);
  assert.equal((await activeAt(page, { x: 140, y: 140 }))[3], 0, 'and nothing inside it');
  await page.getByTestId('canny-high').fill('500');
  await page.getByTestId('canny-low').fill('400');
  await page.waitForTimeout(600);
  assert.equal((await strongestNear(page, edge))[3], 0, 'higher thresholds drop the faint edge, live');
  await page.getByTestId('canny-low').fill('100');
  await page.getByTestId('canny-high').fill('200');

  // Depth: a linear gradient from near (light) to far (black).
  await addLayer(page, 'hint:depth');
  await page.getByTestId('tool-gradient').click();
  await stroke(page, [{ x: 256, y: 500 }, { x: 256, y: 260 }], 4);
  const near = await activeAt(page, { x: 400, y: 490 });
  const far = await activeAt(page, { x: 400, y: 270 });
  assert.ok(near[0] > far[0] + 100 && near[0] === near[1] && near[1] === near[2], `grey levels, near light (${near}) far dark (${far})`);

  // Segmentation: the "tree" class by name, painted as a filled ellipse.
  await addLayer(page, 'hint:segmentation');
  await page.getByTestId('tool-shape').click();
  await page.getByTestId('segment-class').first().click();
  await page.getByRole('textbox', { name: 'Search classes' }).fill('tree');
  await page.getByRole('option', { name: /^tree/ }).click();
  await page.keyboard.press('u'); // ellipse
  await stroke(page, [{ x: 300, y: 60 }, { x: 460, y: 200 }]);
  assert.match((await page.getByTestId('segment-class').first().textContent()) ?? '', /tree/);
  await page.getByTestId('layer-opacity').fill('1'); // shown at 60% by default: compare at full opacity
  const tree = await activeAt(page, { x: 380, y: 130 });
  assert.deepEqual(tree.slice(0, 3), [4, 200, 3], 'the exact ADE20K colour of "tree"');

  // The inpaint mask: white paint, shown as a red overlay.
  await addLayer(page, 'mask');
  await page.getByTestId('tool-brush').click();
  await stroke(page, [{ x: 80, y: 330 }, { x: 220, y: 330 }]);
  const mask = await activeAt(page, { x: 150, y: 330 });
  assert.ok(mask[0] > 200 && mask[1] < 90 && mask[3] > 60 && mask[3] < 200, `a translucent red overlay (${mask})`);

  // A normal map imported from a file.
  await addLayer(page, 'hint:normal');
  const flat = encodePng({ width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3).map((_, i) => [128, 128, 255][i % 3]) });
  await page.locator('[data-testid="inspector"] input[type="file"]').setInputFiles({ name: 'normal.png', mimeType: 'image/png', buffer: flat });
  await page.waitForTimeout(400);
  const normal = await activeAt(page, { x: 256, y: 256 });
  assert.deepEqual(normal.slice(0, 3), [128, 128, 255], 'the imported normal map fills the page');
  await page.getByTestId('layer-row').first().locator('button[aria-label^="Hide"]').click();

  await page.locator('[data-testid="layer-row"][data-kind="canny"]').click();
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-hints-kinds');

  // The view: the wheel zooms about the pointer, Space-drag pans, Ctrl+0 fits again.
  const viewport = () => page.getByTestId('canvas').evaluate((el) => ({ scale: Number(el.dataset.scale), x: Number(el.dataset.x), y: Number(el.dataset.y) }));
  const fitted = await viewport();
  const centre = await toScreen(page, { x: 256, y: 256 });
  await page.mouse.move(centre.x, centre.y);
  await page.mouse.wheel(0, -400);
  await page.waitForTimeout(100);
  const zoomed = await viewport();
  assert.ok(zoomed.scale > fitted.scale * 1.2, `the wheel zooms in (${fitted.scale} -> ${zoomed.scale})`);
  const still = await toScreen(page, { x: 256, y: 256 });
  assert.ok(Math.hypot(still.x - centre.x, still.y - centre.y) < 1.5, 'about the point under the pointer');
  await page.keyboard.down('Space');
  await page.mouse.down();
  await page.mouse.move(centre.x - 120, centre.y - 60, { steps: 5 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  const panned = await viewport();
  assert.ok(Math.abs(panned.x - zoomed.x + 120) < 1 && Math.abs(panned.y - zoomed.y + 60) < 1, 'Space-drag pans the view');
  assert.equal(await page.getByTestId('tool-brush').getAttribute('aria-pressed'), 'true', 'and gives the brush back');
  await page.keyboard.press('Control+0');
  assert.deepEqual(await viewport(), fitted, 'Ctrl+0 fits the page again');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});

test('a PNG from another A1111-compatible tool is read and its settings reused', { timeout: 120_000 }, async () => {
  const { page, problems } = await session.open();
  await openStudio(page);

  const parameters = [
    'a castle on a hill, (golden hour:1.2), [mist]',
    'Negative prompt: lowres, watermark',
    'Steps: 28, Sampler: Euler a, Schedule type: Automatic, CFG scale: 6.5, Seed: 1234567, Size: 512x768, Model hash: 0123456789, Model: someCheckpoint_v1, Version: v1.10.1',
  ].join('\n');
  const png = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3).fill(90) }, { parameters });

  await page.locator('nav button[title^="History"]').click();
  await page.getByTestId('history').waitFor();
  await page.getByTestId('history').evaluate((el, base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], 'castle.png', { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) el.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, png.toString('base64'));
  await page.getByTestId('history-details').waitFor();
  assert.match((await page.getByTestId('details-prompt').textContent()) ?? '', /a castle on a hill/);
  assert.match((await page.getByTestId('history-details').textContent()) ?? '', /someCheckpoint_v1\s*· not in library/);
  await screenshot(page, 'studio-hints-dropped-png');

  await page.getByTestId('use-settings').click();
  await openStudio(page);
  await page.getByTestId('tab-generate').click();
  assert.equal(await page.getByTestId('prompt').inputValue(), 'a castle on a hill, (golden hour:1.2), [mist]');
  assert.equal(await page.getByTestId('negative-prompt').inputValue(), 'lowres, watermark');
  assert.equal(await page.getByTestId('steps').inputValue(), '28');
  assert.equal(await page.getByTestId('cfg').inputValue(), '6.5');
  assert.equal(await page.getByTestId('sampler').inputValue(), 'euler_a');
  assert.equal(await page.getByTestId('seed').inputValue(), '1234567');
  assert.equal(await page.getByTestId('gen-width').inputValue(), '512');
  assert.equal(await page.getByTestId('gen-height').inputValue(), '768');
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-hints-reused-settings');
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
