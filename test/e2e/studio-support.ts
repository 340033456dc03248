// Steps the studio end-to-end tests share: adding the fixtures (or another models folder) through the Library
// view, opening the studio, turning document coordinates into page coordinates (the canvas publishes its viewport
// as data attributes), drawing strokes, reading what the canvas shows at a point, waiting for autosave, setting
// the generation's size and steps, running a generation to its end, and timing the page's frames while it is
// painted on.
import type { Page } from 'playwright-core';
import { fixturesDir } from '../support/paths.ts';

export interface Point {
  x: number;
  y: number;
}

/** Adds test/fixtures/sd15-tiny through the Library view's folder dialog and waits for the scan. */
export async function addFixtures(page: Page): Promise<void> {
  await addModelFolder(page, fixturesDir, ['tiny-sd15', 'tiny-controlnet', 'tiny-ctrlora-edge', 'tiny-ctrlora-blob', 'tiny-ctrlora-base']);
}

/** Adds a folder through the Library view's folder dialog and waits until the scan is over and lists `names`. */
export async function addModelFolder(page: Page, folder: string, names: readonly string[]): Promise<void> {
  await page.locator('nav button[title^="Library"]').click();
  await page.getByTestId('add-folder').click();
  await page.getByTestId('add-folder-path').fill(folder);
  await page.getByTestId('add-folder-submit').click();
  await page.getByTestId('add-folder-dialog').waitFor({ state: 'hidden' });
  await page.waitForFunction(
    (wanted) => {
      const listed = new Set(Array.from(document.querySelectorAll<HTMLElement>('[data-testid="library-row"]'), (r) => r.dataset.name));
      return wanted.every((n) => listed.has(n)) && !document.querySelector('[data-testid="scan-progress"]');
    },
    names,
    { timeout: 120_000 },
  );
}

/** Switches to the Studio view and waits until a document is open on the canvas. */
export async function openStudio(page: Page): Promise<void> {
  await page.locator('nav button[title^="Studio"]').click();
  await page.locator('[data-testid="canvas"][data-scale]').waitFor({ timeout: 30_000 });
  await page.getByTestId('layer-list').waitFor();
}

export async function toScreen(page: Page, p: Point): Promise<Point> {
  const canvas = page.getByTestId('canvas');
  const box = await canvas.boundingBox();
  const v = await canvas.evaluate((el) => ({ scale: Number(el.dataset.scale), x: Number(el.dataset.x), y: Number(el.dataset.y) }));
  if (!box || !Number.isFinite(v.scale)) throw new Error('the canvas has no viewport yet');
  return { x: box.x + v.x + p.x * v.scale, y: box.y + v.y + p.y * v.scale };
}

/** Drags through document points with the left button, `steps` pointer moves between each pair. */
export async function stroke(page: Page, points: Point[], steps = 6, finish: 'up' | 'escape' = 'up'): Promise<void> {
  const first = await toScreen(page, points[0]);
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    const s = await toScreen(page, p);
    await page.mouse.move(s.x, s.y, { steps });
  }
  if (finish === 'escape') await page.keyboard.press('Escape');
  await page.mouse.up();
}

/** What the canvas's layer canvases (below, active, above: not the checkerboard or tool overlay) show at a point. */
export async function pixelsAt(page: Page, p: Point): Promise<[number, number, number, number][]> {
  const s = await toScreen(page, p);
  return page.evaluate(({ x, y }) => {
    const host = document.querySelector('[data-testid="canvas"]')!;
    const box = host.getBoundingClientRect();
    const canvases = Array.from(host.querySelectorAll('canvas')).slice(1, 4);
    return canvases.map((c) => {
      const d = c.getContext('2d')!.getImageData(Math.round(x - box.left), Math.round(y - box.top), 1, 1).data;
      return [d[0], d[1], d[2], d[3]] as [number, number, number, number];
    });
  }, s);
}

/** True when some document layer shows dark, opaque ink at the point (scribble strokes). */
export async function inkAt(page: Page, p: Point): Promise<boolean> {
  return (await pixelsAt(page, p)).some(([r, g, b, a]) => a > 200 && r + g + b < 120);
}

/** Waits until autosave has stored every edit (the status line says Saved). */
export async function waitSaved(page: Page): Promise<void> {
  await page.waitForTimeout(150); // an edit marks the document dirty at once; give its save time to start
  await page.locator('[data-testid="save-state"][data-status="saved"]').waitFor({ timeout: 30_000 });
}

export async function addLayer(page: Page, choice: string): Promise<void> {
  await page.getByTestId('tab-layers').click();
  await page.getByTestId('add-layer').click();
  await page.getByTestId(`add-${choice}`).click();
}

/** Names of the layers as the layers panel lists them (top first). */
export async function layerNames(page: Page): Promise<string[]> {
  await page.getByTestId('tab-layers').click();
  return page.locator('[data-testid="layer-row"] .name').allTextContents();
}

/** Types a value into a Generate tab number input that applies on its change event (fill only fires input). */
export async function setNumberInput(page: Page, testid: string, value: number): Promise<void> {
  await page.getByTestId(testid).fill(String(value));
  await page.getByTestId(testid).dispatchEvent('change');
}

/**
 * Sets the Generate tab's picture size to `side`x`side` and, when given, its number of steps: small and few, so
 * that a test's generation on the tiny fixtures is quick.
 */
export async function setGenerationSize(page: Page, { side, steps }: { side: number; steps?: number }): Promise<void> {
  await setNumberInput(page, 'gen-width', side);
  await setNumberInput(page, 'gen-height', side);
  if (steps !== undefined) await page.getByTestId('steps').fill(String(steps));
}

/** Clicks Generate, waits for its progress to show, then for the Generate button to come back (the run is over). */
export async function generateAndWait(page: Page, timeoutMs: number): Promise<void> {
  await page.getByTestId('generate').click();
  await page.getByTestId('generate-progress').waitFor({ timeout: 30_000 });
  await page.getByTestId('generate').waitFor({ timeout: timeoutMs });
}

/** requestAnimationFrame deltas in the page while `paint` runs (the first, partial one dropped). */
export async function frameTimes(page: Page, paint: () => Promise<void>): Promise<number[]> {
  // A string, not a function: tsx would wrap the named callback in a helper the page does not have.
  await page.evaluate(`(() => {
    window.__frames = [];
    window.__recording = true;
    let last = performance.now();
    function tick(t) {
      window.__frames.push(t - last);
      last = t;
      if (window.__recording) requestAnimationFrame(tick);
    }
    requestAnimationFrame(tick);
  })()`);
  await paint();
  return page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __recording: boolean };
    w.__recording = false;
    return w.__frames.slice(1);
  });
}
