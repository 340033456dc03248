// End to end in real Chromium against `hintbrush serve` and the tiny fixtures: live mode on a scribble hint
// bound to a ControlNet. Once the first live picture is up to date, ten quick strokes are painted with a short
// pause setting (so live jobs start between strokes and the next stroke has to cancel them). Measured from the
// WebSocket frames the page exchanges with main (live.start requests, jobs.cancel, job.updated and
// generate.progress events): at most 2 live jobs finish, each cancelled job ends within one denoising step of
// its cancel, and the last live picture was made from the last stroke (its hint image shows that stroke, and
// equals the hint image Generate sends for the final document). Frame times during the strokes come from
// requestAnimationFrame deltas in the page: every frame under 100 ms. Keep puts the picture in the history and
// the layers. Screenshots: test-results/studio-live-*.png; numbers: test-results/live-mode.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { JobInfo } from '../../src-main/common/contract.ts';
import type { GenerateInput } from '../../src-main/common/generation-contract.ts';
import { decodePng } from '../../src-main/formats/png.ts';
import { screenshot } from '../support/browser.ts';
import { connect } from '../support/contract-client.ts';
import { resultsDir } from '../support/paths.ts';
import { e2eSession } from './e2e-session.test-support.ts';
import { addFixtures, addLayer, frameTimes, generateAndWait, layerNames, openStudio, setGenerationSize, stroke } from './studio-support.ts';

const session = e2eSession();

interface Frame {
  at: number;
  dir: 'sent' | 'received';
  message: { id?: number; method?: string; params?: unknown; result?: unknown; error?: unknown; event?: string; data?: unknown };
}

/** Every WebSocket frame of the page from now on (the page is reloaded so its socket is watched from the start). */
async function watchFrames(page: Page): Promise<Frame[]> {
  const frames: Frame[] = [];
  page.on('websocket', (ws) => {
    const keep = (dir: Frame['dir']) => (f: { payload: string | Buffer }) => {
      if (typeof f.payload !== 'string') return;
      try {
        frames.push({ at: Date.now(), dir, message: JSON.parse(f.payload) });
      } catch {
        // not a wire message
      }
    };
    ws.on('framesent', keep('sent'));
    ws.on('framereceived', keep('received'));
  });
  await page.reload();
  return frames;
}

/** The live jobs seen in the frames: request, id, cancel time, end state and time, progress times. */
function liveJobs(frames: Frame[]) {
  const requests = frames.filter((f) => f.dir === 'sent' && f.message.method === 'live.start');
  return requests.map((req) => {
    const answer = frames.find((f) => f.dir === 'received' && f.message.id === req.message.id && 'result' in f.message);
    const jobId = (answer?.message.result as { jobId?: string } | undefined)?.jobId ?? null;
    const cancel = frames.find((f) => f.dir === 'sent' && f.message.method === 'jobs.cancel' && (f.message.params as { id: string }).id === jobId);
    const end = frames.find((f) => f.dir === 'received' && f.message.event === 'job.updated' && (f.message.data as JobInfo).id === jobId && ['done', 'failed', 'cancelled'].includes((f.message.data as JobInfo).state));
    // from the job's start ('Loading the models', step 0) through each denoising step: the first interval is
    // the first step with the job's setup (text encoding, hint preparation), which a cancel cannot cut short either
    const steps = frames.filter((f) => f.dir === 'received' && f.message.event === 'generate.progress' && (f.message.data as { jobId: string; step: number }).jobId === jobId);
    return {
      input: req.message.params as GenerateInput,
      sentAt: req.at,
      jobId,
      cancelAt: cancel?.at ?? null,
      state: end ? (end.message.data as JobInfo).state : null,
      endAt: end?.at ?? null,
      stepTimes: steps.map((s) => s.at),
    };
  });
}

/** The grey level of a hint PNG at a point. */
function hintAt(base64: string, x: number, y: number): number {
  const image = decodePng(Buffer.from(base64, 'base64'));
  const i = (y * image.width + x) * image.channels;
  return image.data[i];
}

function frameStats(frames: number[]) {
  const sorted = [...frames].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { frames: frames.length, maxMs: round(sorted[sorted.length - 1]), p95Ms: round(sorted[Math.floor(sorted.length * 0.95)]), medianMs: round(sorted[Math.floor(sorted.length / 2)]), over100: frames.filter((f) => f >= 100).length };
}

async function waitLive(page: Page, status: string, timeout = 120_000): Promise<void> {
  await page.locator(`[data-testid="live-controls"][data-status="${status}"]`).waitFor({ timeout });
}

const strokeY = (i: number) => 40 + i * 46;
/** Steps of a live picture in this test: long enough jobs that the next stroke has to cancel them. */
const LIVE_STEPS = 8;

test('live mode follows ten quick strokes, cancels stale pictures within a step, and keeps painting smooth', { timeout: 600_000 }, async () => {
  const dataDir = await session.tempDir('live');
  const { server, page, problems } = await session.open({ dataDir });
  await addFixtures(page);
  const frames = await watchFrames(page);
  const api = await connect(server);
  const library = await api.call('library.list', {});
  const controlId = library.find((i) => i.name === 'tiny-controlnet' && i.path.endsWith('.safetensors'))!.id;

  await openStudio(page);
  await addLayer(page, 'hint:scribble');
  await page.getByTestId('tab-generate').click();
  await page.getByTestId('condition-row').first().getByTestId('control-model').selectOption(String(controlId));
  await page.getByTestId('prompt').fill('a lighthouse on a cliff at dusk');

  // Live settings: LCM is the default; half the canvas size (256x256: the tiny model's 512x512 attention is
  // slow on a shared 2-core machine), 8 steps and the shortest pause, so jobs start between the strokes.
  assert.equal(await page.getByTestId('live-sampler').inputValue(), 'lcm');
  await page.getByTestId('live-size-half').click();
  assert.match((await page.getByTestId('live-settings').textContent()) ?? '', /one generation per pause/);
  assert.match((await page.getByTestId('live-sampler-note').textContent()) ?? '', /LCM-LoRA/);
  await page.getByTestId('live-steps').fill(String(LIVE_STEPS));
  await page.getByTestId('live-delay').fill('0.1');
  await screenshot(page, 'studio-live-settings');

  // The same kind of strokes with live mode off first (on the right edge, away from the live strokes): what
  // this machine's frames are without live pictures being made.
  const baselineFrames = await frameTimes(page, async () => {
    for (let i = 0; i < 10; i++) {
      await stroke(page, [{ x: 470, y: 30 + i * 45 }, { x: 500, y: 50 + i * 45 }], 4);
      await page.waitForTimeout(250);
    }
  });

  // On: the first picture builds the sessions; wait until it is up to date.
  await page.getByTestId('live-toggle').click();
  await waitLive(page, 'ready', 240_000);
  assert.equal(await page.getByTestId('live-keep').isEnabled(), true, 'a picture to keep');
  const warm = liveJobs(frames).filter((j) => j.state === 'done');
  assert.ok(warm.length >= 1, 'the first live picture finished');
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-live-first');

  // Ten quick strokes, rAF frame times recorded meanwhile; then the last live picture comes.
  const strokesFrom = Date.now();
  const liveFrames = await frameTimes(page, async () => {
    for (let i = 0; i < 10; i++) {
      await stroke(page, [{ x: 80, y: strokeY(i) }, { x: 260, y: strokeY(i) + 10 }, { x: 430, y: strokeY(i) }], 4);
      await page.waitForTimeout(250); // a short pause: longer than the live pause, so a live job starts
    }
  });
  const strokesEnd = Date.now();
  await waitLive(page, 'ready', 180_000);
  await page.waitForTimeout(300); // the last job.updated frames
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-live-after-strokes');

  const jobs = liveJobs(frames).filter((j) => j.sentAt >= strokesFrom);
  const done = jobs.filter((j) => j.state === 'done');
  const cancelled = jobs.filter((j) => j.state === 'cancelled');
  const stepMs = (j: { stepTimes: number[] }) => j.stepTimes.slice(1).map((t, i) => t - j.stepTimes[i]);
  const allSteps = [...warm, ...jobs].flatMap(stepMs).sort((a, b) => a - b);
  const longestStep = allSteps[allSteps.length - 1] ?? 0;
  const frameReport = { withLive: frameStats(liveFrames), withoutLive: frameStats(baselineFrames) };
  const report = {
    strokes: 10,
    strokesMs: strokesEnd - strokesFrom,
    liveJobs: jobs.length,
    finished: done.length,
    cancelled: cancelled.length,
    stepMs: { median: allSteps[Math.floor(allSteps.length / 2)] ?? null, max: longestStep },
    cancelToEndMs: cancelled.map((j) => (j.endAt ?? 0) - (j.cancelAt ?? 0)),
    frames: frameReport,
    loadAverage: os.loadavg()[0],
  };
  console.log(`live mode: ${JSON.stringify(report)}`);
  await mkdir(resultsDir, { recursive: true });
  await writeFile(path.join(resultsDir, 'live-mode.json'), `${JSON.stringify(report, null, 2)}\n`);

  assert.ok(jobs.length >= 3, `live jobs started between the strokes (${jobs.length}), so cancelling was exercised`);
  assert.ok(done.length >= 1 && done.length <= 2, `at most 2 live pictures finished (${done.length})`);
  assert.equal(done.length + cancelled.length, jobs.length, 'every other live job was cancelled');
  assert.ok(jobs.every((j) => j.state !== 'cancelled' || j.cancelAt !== null), 'each cancelled job was cancelled by a newer edit');
  // Within one step: a cancel reaches the engine during a step (an ONNX run is not interrupted) and the sampler
  // stops before the next one, so from the cancel to the job's end takes at most one step (the first with the
  // job's setup) plus the frames' trip through main. On a machine shared with other work step times swing
  // widely, and the step a cancel fell into is not reported, so a step counts as 1.5 x the longest one measured
  // in this run, plus 250 ms; and the end must come before the longest step plus one more median step (what
  // running one more step would take).
  const medianStep = allSteps[Math.floor(allSteps.length / 2)];
  for (const j of cancelled) {
    const took = j.endAt! - j.cancelAt!;
    assert.ok(took <= 1.5 * longestStep + 250 && took < longestStep + medianStep + 250, `job ${j.jobId} ended ${took} ms after its cancel; a step takes ${medianStep} ms (up to ${longestStep} ms)`);
    assert.ok(j.stepTimes.filter((t) => t > j.cancelAt!).length <= 1, `job ${j.jobId} reported at most one step after its cancel`);
    assert.ok(j.stepTimes.length < LIVE_STEPS + 1, `job ${j.jobId} did not run all its steps`);
  }

  // The last picture reflects the last stroke: its hint shows stroke 10, which the job before it did not have,
  // and it is the hint Generate sends for the final document.
  const last = jobs[jobs.length - 1];
  assert.equal(last.state, 'done', 'the last live job finished');
  assert.ok(last.sentAt > strokesEnd - 250, 'and was asked for after the last stroke');
  const lastHint = last.input.controls[0].imagePngBase64;
  const background = hintAt(lastHint, 20, 500);
  assert.notEqual(hintAt(lastHint, 260, strokeY(9) + 10), background, 'the last live hint shows the last stroke');
  const before = jobs[jobs.length - 2];
  assert.equal(hintAt(before.input.controls[0].imagePngBase64, 260, strokeY(9) + 10), background, 'the job before it did not');
  assert.equal(await page.getByTestId('live-keep').isEnabled(), true);
  // Generate at 64x64 (the generation size is not a document edit, so no live picture is asked for; the hint
  // is sent at the canvas size whatever the generation size).
  await setGenerationSize(page, { side: 64 });
  const generateSent = frames.length;
  await generateAndWait(page, 240_000);
  const generate = frames.slice(generateSent).find((f) => f.dir === 'sent' && f.message.method === 'generate.start')!;
  const generateHint = (generate.message.params as GenerateInput).controls[0].imagePngBase64;
  assert.deepEqual(decodePng(Buffer.from(lastHint, 'base64')).data, decodePng(Buffer.from(generateHint, 'base64')).data, 'the same hint as Generate sends');

  // Keep: the live picture into the history and the layers.
  const historyBefore = (await api.call('history.list', { limit: 1, offset: 0 })).total;
  await page.getByTestId('live-keep').click();
  await page.locator('[data-testid="live-keep"]:has-text("Kept")').waitFor({ timeout: 30_000 });
  const history = await api.call('history.list', { limit: 5, offset: 0 });
  assert.equal(history.total, historyBefore + 1, 'Keep adds one history entry');
  assert.equal(history.items[0].jobId, last.jobId, 'the last live picture');
  assert.equal(history.items[0].settings.sampler, 'lcm');
  assert.equal(history.items[0].settings.steps, LIVE_STEPS);
  assert.ok((await layerNames(page)).some((n) => n.startsWith(`Result #${history.items[0].id}`)), 'and a layer');
  await page.mouse.move(0, 0);
  await screenshot(page, 'studio-live-kept');

  // Painting stayed smooth: every frame under 100 ms while live pictures were made. A machine that drops
  // frames with live mode off as well (other work starving the browser) cannot show that; there the test holds
  // live mode to the frames the machine gives without it, and says so.
  assert.ok(liveFrames.length > 30, `frames were measured (${liveFrames.length})`);
  if (frameReport.withoutLive.maxMs < 100) {
    assert.ok(frameReport.withLive.maxMs < 100, `every frame under 100 ms while live pictures were made (longest ${frameReport.withLive.maxMs} ms)`);
  } else {
    console.log(`live mode: this machine drops frames without live mode (longest ${frameReport.withoutLive.maxMs} ms, load ${os.loadavg()[0]}): compared with that instead of 100 ms`);
    const rate = (f: ReturnType<typeof frameStats>) => f.over100 / f.frames;
    assert.ok(frameReport.withLive.p95Ms < 100, `95% of the frames under 100 ms with live mode (${frameReport.withLive.p95Ms} ms)`);
    assert.ok(rate(frameReport.withLive) <= rate(frameReport.withoutLive) * 1.5 + 0.01, `live mode drops no more frames than painting alone (${JSON.stringify(frameReport)})`);
  }

  await page.getByTestId('live-toggle').click();
  await waitLive(page, 'off');
  api.close();
  assert.deepEqual(problems, [], 'the page ran without console errors or CSP violations');
});
