// End to end: the training wizard in real Chromium against `hintbrush serve` and the tiny fixtures. A folder
// of 32 blob pictures (128 px) with their edges as conditions (plus a broken, an unpaired, a too small, a non-PNG and a misshapen pair) is imported, a
// caption edited, this machine measured, and a new CtrLoRA condition trained on tiny-sd15 + tiny-ctrlora-base
// for a few steps: progress, a loss plot and a sample show; generating meanwhile is refused with the run named;
// Pause stops at a checkpoint and Resume goes on from it.
// The server is then killed mid-run and started again on the same data folder: the run is 'interrupted',
// resumes from its checkpoint at the same step with the same loss curve, finishes, lands in the library, and
// "Use it as a hint" puts it in the studio, where it generates through the CtrLoRA path.
// Screenshots: test-results/training-*.png.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { TrainingRunInfo } from '../../src-main/common/training-contract.ts';
import { writeBlobDataset } from '../support/blob-dataset.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import type { ServeHandle } from '../support/serve.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, layerNames, setGenerationSize, stroke } from './studio-support.ts';

const OUTPUT = 'outline-ctrlora';
/** Steps of the run: long enough to pause, resume and kill it mid-way after a checkpoint (a tiny step takes
 * well under a second), short enough for a test. */
const STEPS = 40;
const CHECKPOINT_EVERY = 4;
const SAMPLE_EVERY = 10;

const session = e2eSession();
let workDir: string;

before(async () => {
  workDir = await session.tempDir('train-e2e');
});

async function status(server: ServeHandle, runId: number): Promise<TrainingRunInfo> {
  const api = await connect(server);
  try {
    return await api.call('training.status', { runId });
  } finally {
    api.close();
  }
}

/** Two loss curves agree on their first `n` steps (live progress reports losses to 5 decimals, the record keeps floats). */
function sameCurve(actual: readonly number[], expected: readonly number[], n: number, what: string): void {
  assert.ok(actual.length >= n && expected.length >= n, `${what}: ${actual.length} and ${expected.length} losses, ${n} wanted`);
  for (let i = 0; i < n; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * Math.max(1, Math.abs(expected[i])), `${what}: step ${i + 1} has loss ${actual[i]}, expected ${expected[i]}`);
  }
}

async function openTrain(page: Page): Promise<void> {
  await page.locator('nav button[title^="Train"]').click();
  await page.getByTestId('training-view').waitFor();
}

/** Waits until the live view shows at least `step` (its data-step attribute). */
async function waitStep(page: Page, step: number, timeout = 240_000): Promise<void> {
  await page.waitForFunction((s) => Number(document.querySelector<HTMLElement>('[data-testid="run-view"]')?.dataset.step ?? 0) >= s, step, { timeout });
}

test('a new CtrLoRA condition trained through the wizard survives a killed server and generates', { timeout: 900_000 }, async () => {
  const dataDir = path.join(workDir, 'data');
  const dataset = await writeBlobDataset(path.join(workDir, 'outlines'), { count: 32, size: 128 });
  let { server, page, problems } = await session.open({ dataDir });
  await addFixtures(page);
  await openTrain(page);

  // 1. Recipe: a new kind of hint, on the SD1.5 checkpoint and the Base ControlNet of the library.
  await page.getByTestId('recipe-ctrlora').click();
  assert.match((await page.getByTestId('recipe-ctrlora').textContent()) ?? '', /Base ControlNet.*SD1\.5/s, 'the recipe says what it needs');
  assert.equal(await page.getByTestId('train-checkpoint').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), 'tiny-sd15');
  assert.equal(await page.getByTestId('train-base').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent), 'tiny-ctrlora-base');
  await page.mouse.move(0, 0);
  await screenshot(page, 'training-1-recipe');
  await page.getByTestId('wizard-next').click();

  // 2. Data: the folder on the server; the report lists the good pairs and each bad file with its reason.
  await page.getByTestId('condition-pairs').click();
  await page.getByTestId('dataset-path').fill(dataset.dir);
  await page.getByTestId('dataset-import').click();
  const report = page.getByTestId('import-report');
  await report.waitFor({ timeout: 120_000 });
  await page.getByTestId('suggested-resolution').waitFor();
  assert.equal(await report.getAttribute('data-items'), '32');
  const left = await page.getByTestId('import-problem').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
  const kinds = await page.getByTestId('import-problem').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind));
  for (const p of dataset.problems) {
    const at = left.findIndex((t) => t.includes(p.file));
    assert.ok(at >= 0, `${p.file} is listed as left out: ${left.join(' | ')}`);
    assert.equal(kinds[at], p.kind, `${p.file} is left out as ${p.kind}: ${left[at]}`);
  }
  await screenshot(page, 'training-2-import');
  await page.getByTestId('wizard-next').click();

  // 3. Captions: one per picture in a grid; an edit is stored.
  const cards = page.getByTestId('caption-card');
  assert.equal(await cards.count(), 32);
  await page.getByTestId('caption-text').first().fill('an outlined red blob, flat light');
  await cards.first().locator('[data-state="saved"]').waitFor({ timeout: 10_000 });
  await screenshot(page, 'training-3-captions');
  const api = await connect(server);
  const datasets = await api.call('training.datasets', {});
  const stored = await api.call('training.dataset', { id: datasets[0].id });
  api.close();
  assert.ok(stored.items.some((i) => i.caption === 'an outlined red blob, flat light'), 'the edited caption is stored');
  await page.getByTestId('wizard-next').click();

  // 4. Time budget: calibration steps give speed and memory; an explicit step count for the test.
  await page.locator('[data-testid="calibration"][data-state="done"]').waitFor({ timeout: 240_000 });
  assert.match((await page.getByTestId('seconds-per-step').textContent()) ?? '', /s\/step|steps\/s/);
  assert.match((await page.getByTestId('peak-memory').textContent()) ?? '', /\d+(\.\d+)? (KB|MB|GB)/);
  assert.match((await page.getByTestId('preset-standard').textContent()) ?? '', /[\d,]+ steps.*≈/s, 'a preset shows its steps and time');
  await page.getByTestId('preset-custom').click();
  await page.getByTestId('custom-steps').fill(String(STEPS));
  await page.locator('details.settings summary').click();
  assert.equal(await page.getByTestId('opt-resolution').inputValue(), '256', '128 px pictures train at 256, not 512');
  await page.getByTestId('opt-sample-every').fill(String(SAMPLE_EVERY));
  await page.getByTestId('opt-checkpoint-every').fill(String(CHECKPOINT_EVERY));
  await page.getByTestId('opt-sample-prompt').fill('a blob');
  await page.getByTestId('opt-output-name').fill(OUTPUT);
  await screenshot(page, 'training-4-budget');

  // 5. The run: progress, loss plot and a sample at step 10.
  await page.getByTestId('start-training').click();
  const view = page.getByTestId('run-view');
  await view.waitFor({ timeout: 60_000 });
  const runId = Number(await view.getAttribute('data-run'));
  await waitStep(page, SAMPLE_EVERY + 2);
  await page.locator(`[data-testid="sample-latest"][data-step="${SAMPLE_EVERY}"] img`).waitFor({ timeout: 60_000 });
  assert.ok(Number(await page.getByTestId('loss-plot').getAttribute('data-points')) >= SAMPLE_EVERY, 'the loss plot has the steps so far');
  assert.match((await page.getByTestId('loss-line').getAttribute('d')) ?? '', /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+)+$/);
  await screenshot(page, 'training-5-running');

  // While it trains, the studio stays usable and a generation is refused, naming the run.
  await page.locator('nav button[title^="Studio"]').click();
  await page.getByTestId('layer-list').waitFor({ timeout: 30_000 });
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('generate').click();
  const notice = page.getByText(/Could not start the generation/);
  await notice.waitFor({ timeout: 30_000 });
  assert.match((await notice.textContent()) ?? '', /train/i, 'the refusal says a training run holds the GPU');
  await screenshot(page, 'training-6-generate-refused');
  await openTrain(page);

  // Pause: the job stops after its step with a checkpoint there; Resume goes on from it.
  assert.equal((await status(server, runId)).state, 'running', 'still training when Pause is pressed');
  await page.getByTestId('run-pause').click();
  await page.locator('[data-testid="run-view"][data-state="paused"]').waitFor({ timeout: 120_000 });
  const paused = await status(server, runId);
  assert.equal(paused.checkpointStep, paused.step, 'pausing writes a checkpoint at the step it stopped at');
  assert.equal(paused.losses.length, paused.step);
  await screenshot(page, 'training-6b-paused');
  await page.getByTestId('run-resume').click();
  await waitStep(page, paused.step + 1);

  // 6. Kill the server mid-run, after a checkpoint; start it again on the same data folder.
  await waitStep(page, paused.step + CHECKPOINT_EVERY + 1);
  const before = await status(server, runId);
  assert.equal(before.state, 'running');
  await server.kill();
  assert.deepEqual(problems, [], 'the page ran clean before the kill');
  await page.context().close();
  ({ server, page, problems } = await session.open({ dataDir }));
  await openTrain(page);
  await page.locator('[data-testid="run-view"][data-state="interrupted"]').waitFor({ timeout: 30_000 });
  const interrupted = await status(server, runId);
  const resumeAt = interrupted.checkpointStep;
  // The last checkpoint before the kill: the status was read at `before.step`, and a tiny step takes well under a
  // second, so a step or two may still have finished (and checkpointed) before the process died.
  assert.ok(
    resumeAt % CHECKPOINT_EVERY === 0 && resumeAt > paused.step && resumeAt >= before.step - CHECKPOINT_EVERY && resumeAt <= before.step + CHECKPOINT_EVERY,
    `checkpoint ${resumeAt} for a kill at step ${before.step} or a little later`,
  );
  assert.equal(interrupted.step, resumeAt);
  sameCurve(interrupted.losses, before.losses, Math.min(resumeAt, before.losses.length), 'the loss curve up to the checkpoint is kept');
  assert.equal(await page.getByTestId('run-step').textContent(), `${resumeAt} / ${STEPS}`);
  await screenshot(page, 'training-7-interrupted');

  // 7. Resume: it continues after the checkpoint with the same data order and noise, so the steps it redoes
  // give the losses they gave before the kill.
  const resumedSteps: number[] = [];
  page.on('websocket', (ws) =>
    ws.on('framereceived', ({ payload }) => {
      const m = JSON.parse(String(payload)) as { event?: string; data?: { step: number } };
      if (m.event === 'training.progress' && m.data) resumedSteps.push(m.data.step);
    }),
  );
  await page.reload(); // the listener sees the socket of the reloaded page
  await openTrain(page);
  await page.locator('[data-testid="run-view"][data-state="interrupted"]').waitFor({ timeout: 30_000 });
  await page.getByTestId('run-resume').click();
  await page.locator('[data-testid="run-view"][data-state="done"]').waitFor({ timeout: 600_000 });
  assert.equal(resumedSteps[0], resumeAt + 1, `the resumed job's first step follows the checkpoint: ${resumedSteps.slice(0, 3).join(', ')}`);
  const done = await status(server, runId);
  assert.equal(done.step, STEPS);
  assert.equal(done.losses.length, STEPS);
  sameCurve(done.losses, interrupted.losses, resumeAt, 'the curve up to the checkpoint');
  sameCurve(done.losses, before.losses, before.losses.length, 'the steps redone after the resume');
  sameCurve(done.losses, paused.losses, paused.step, 'the curve across the pause');
  assert.deepEqual(done.samples.map((s) => s.step), [10, 20, 30, 40], 'a sample every 10 steps, across the resume');
  const result = page.getByTestId('training-result');
  await page.locator(`[data-testid="training-result"][data-model^="${OUTPUT}"]`).waitFor({ timeout: 30_000 });
  await screenshot(page, 'training-8-done');

  // 8. The result is a CtrLoRA condition in the library; "Use it as a hint" makes a layer of it.
  const lib = await connect(server);
  const items = await lib.call('library.list', {});
  lib.close();
  const trained = items.find((i) => i.name.startsWith(OUTPUT)); // the file is <name>-run<id>
  assert.equal(trained?.kind, 'ctrlora-lora', `the result is in the library as a CtrLoRA condition: ${JSON.stringify(trained)}`);
  assert.ok(trained);
  await result.getByTestId('use-result').click();
  await page.getByTestId('layer-list').waitFor();
  assert.equal((await layerNames(page))[0], 'outlines via CtrLoRA', 'the condition is named after its dataset');

  // An outline drawn on it generates through the CtrLoRA path.
  await page.getByTestId('tool-shape').click();
  await page.keyboard.press('u');
  await page.getByRole('button', { name: 'Outline', exact: true }).click(); // outlines, as it was trained on
  await stroke(page, [{ x: 140, y: 140 }, { x: 360, y: 330 }]);
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('prompt').fill('a blob');
  await setGenerationSize(page, { side: 128, steps: 3 });
  await page.getByTestId('generate').click();
  // 128 px and 3 steps are quick: wait for the picture's layer rather than for the progress.
  await page.getByTestId('tab-layers').click();
  await page.locator('[data-testid="layer-row"][data-kind="image"]').nth(1).waitFor({ timeout: 240_000 });
  await page.mouse.move(0, 0);
  await screenshot(page, 'training-9-generated');
  const hist = await connect(server);
  const { items: pictures } = await hist.call('history.list', { limit: 5, offset: 0 });
  hist.close();
  assert.equal(pictures.length, 1);
  assert.deepEqual(
    pictures[0].settings.controls.map((c) => [c.kind, c.model.name, c.base?.name]),
    [['ctrlora', trained.name, 'tiny-ctrlora-base']],
    'the picture was made with the trained condition on the Base ControlNet',
  );
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
