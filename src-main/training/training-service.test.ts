// Training through main's services with the engine in a child process: a folder imported with its bad files
// reported, captions edited, canny conditions made; a style run that refuses generation while it trains, pauses,
// resumes and lands in the library with its settings; a CtrLoRA condition usable at once as a hint; calibration
// and presets; cancel.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Events, LibraryItem } from '../common/contract.ts';
import { makeDataset, testCondition, testPicture } from '../engine/training/training-data.test-support.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { errorKindOf, startAppServices, type AppServices } from '../app/app-services.test-support.ts';
import type { Services } from '../app/bootstrap.ts';
import { fillDisk, tempFilesIn } from '../formats/disk-full.test-support.ts';

describe('training services', () => {
  let app: AppServices;
  let services: Services;
  let items: LibraryItem[];
  const progress: Events['training.progress'][] = [];
  const finished: Events['training.finished'][] = [];
  const byName = (name: string) => items.find((i) => i.name === name)!;
  const common = { rank: 4, lr: 1e-3, resolution: 256 as const, batchSize: 1, checkpointEvery: 2, sampleEvery: 0, seed: 99 };

  before(async () => {
    app = await startAppServices({
      name: 'training',
      fixtures: ['tiny-sd15.safetensors', 'tiny-ctrlora-base.safetensors'],
      supervisor: { heartbeatMs: 200, hangMs: 60_000, cancelGraceMs: 60_000, backoffInitialMs: 50 },
      listen: (s) => {
        s.events.on('training.progress', (e) => progress.push(e));
        s.events.on('training.finished', (e) => finished.push(e));
      },
    });
    ({ services, items } = app);
  });

  after(() => app.dispose());

  it('imports a folder of pairs, reports every file it leaves out, and keeps edited captions', async () => {
    const dir = makeDataset(3, { pairs: true, size: [256, 256] });
    writeFileSync(path.join(dir, 'broken.png'), 'not a png');
    writeFileSync(path.join(dir, 'broken.cond.png'), testCondition(256, 256, 9));
    writeFileSync(path.join(dir, 'tiny.png'), testPicture(64, 64, 4));
    writeFileSync(path.join(dir, 'tiny.cond.png'), testCondition(64, 64, 4));
    writeFileSync(path.join(dir, 'lonely.cond.png'), testCondition(256, 256, 5));
    writeFileSync(path.join(dir, 'wide.png'), testPicture(384, 256, 6));
    writeFileSync(path.join(dir, 'wide.cond.png'), testCondition(256, 256, 6));
    writeFileSync(path.join(dir, 'photo.jpg'), 'jpeg bytes');
    const report = await services.call('training.importDataset', { path: dir, name: 'discs' });
    assert.equal(report.condition, 'pairs');
    assert.deepEqual(report.items.map((i) => [i.file, i.conditionFile, i.caption]), [0, 1, 2].map((i) => [`img${i}.png`, `img${i}.cond.png`, `hbstyle, picture ${i}, red disc`]));
    assert.deepEqual(report.buckets, [{ width: 512, height: 512, count: 3 }]);
    const kinds = Object.fromEntries(report.problems.map((p) => [p.file, p.kind]));
    assert.deepEqual(kinds, { 'broken.png': 'unreadable', 'tiny.png': 'too-small', 'lonely.cond.png': 'unpaired', 'wide.cond.png': 'size-mismatch', 'photo.jpg': 'unpaired' });
    await services.call('training.updateCaption', { datasetId: report.id, itemId: report.items[1].id, caption: '  hbstyle, edited  ' });
    const again = await services.call('training.dataset', { id: report.id });
    assert.equal(again.items[1].caption, 'hbstyle, edited');
    assert.equal((await services.call('training.datasets', {}))[0].problemCount, 5);
    assert.equal(await errorKindOf(services.call('training.updateCaption', { datasetId: report.id, itemId: 999999, caption: 'x' })), 'not-found');
  });

  it('makes canny conditions from plain pictures', async () => {
    const dir = makeDataset(2, { size: [256, 256] });
    const report = await services.call('training.importDataset', { path: dir, condition: 'canny', cannyLow: 50, cannyHigh: 100 });
    assert.equal(report.condition, 'canny');
    for (const item of report.items) {
      assert.match(item.conditionFile!, /^generated:conditions\/\d+\.png$/);
      assert.ok(existsSync(path.join(services.info.dataDir, 'training', 'datasets', String(report.id), item.conditionFile!.slice('generated:'.length))));
    }
  });

  it('a full disk while making canny conditions fails the import once, in words, and leaves no temporary file', async (t) => {
    const dir = makeDataset(2, { size: [256, 256] });
    const datasets = path.join(services.info.dataDir, 'training', 'datasets');
    mkdirSync(datasets, { recursive: true });
    fillDisk(t, datasets, { freeBytes: 0 });
    await assert.rejects(
      services.call('training.importDataset', { path: dir, condition: 'canny' }),
      (e: Error & { kind?: string }) => e.kind === 'disk-full' && /could not save .*\.png in .*conditions/.test(e.message),
    );
    assert.deepEqual(tempFilesIn(datasets), []);
    t.mock.restoreAll();
    assert.ok((await services.call('app.info', {})).version, 'still serving');
  });

  it('a style run refuses generation while it trains, pauses, resumes and lands in the library', async () => {
    const dataset = await services.call('training.importDataset', { path: makeDataset(2, { size: [256, 256] }) });
    const start = await services.call('training.start', { ...common, recipe: 'style', checkpoint: byName('tiny-sd15').id, datasetId: dataset.id, steps: 4, sampleEvery: 2, outputName: 'discs' });
    assert.equal(start.steps, 4);
    const refused = await errorKindOf(services.call('generate.start', { checkpoint: byName('tiny-sd15').id, prompt: 'x', width: 64, height: 64, steps: 1 }));
    assert.equal(refused, 'training-running');
    assert.equal(await errorKindOf(services.call('training.start', { ...common, recipe: 'style', checkpoint: byName('tiny-sd15').id, datasetId: dataset.id, steps: 2 })), 'training-running');
    await until(() => progress.some((p) => p.runId === start.runId && p.step >= 1), 240_000);
    assert.equal((await services.call('training.pause', { runId: start.runId })).ok, true);
    await until(() => finished.some((f) => f.runId === start.runId), 120_000);
    const paused = await services.call('training.status', { runId: start.runId });
    assert.equal(paused.state, 'paused');
    assert.ok(paused.checkpointStep >= 1 && paused.checkpointStep === paused.step, `checkpoint at the step it stopped (${paused.checkpointStep}/${paused.step})`);
    const { jobId } = await services.call('training.resume', { runId: start.runId });
    await services.queue.wait(jobId);
    await until(() => finished.filter((f) => f.runId === start.runId).length === 2, 60_000);
    const done = await services.call('training.status', { runId: start.runId });
    assert.equal(done.state, 'done');
    assert.equal(done.losses.length, 4);
    assert.ok(done.losses.every(Number.isFinite));
    // Step 2's sample is skipped when the pause lands while it is drawn; step 4's always comes.
    assert.ok(done.samples.every((s) => s.step % 2 === 0) && done.samples.some((s) => s.step === 4), JSON.stringify(done.samples));
    assert.ok(services.trainingSampleFile(start.runId, 4));
    assert.ok(progress.some((p) => p.runId === start.runId && p.step === 4 && p.samplePngBase64));
    const model = (await services.call('library.list', {})).find((i) => i.id === done.resultModelId)!;
    assert.equal(model.kind, 'lora');
    assert.equal(model.metadata.ss_network_dim, '4');
    assert.equal(JSON.parse(model.metadata.hintbrush_training).datasetId, dataset.id);
    assert.equal(await errorKindOf(services.call('training.resume', { runId: start.runId })), 'bad-request');
  });

  it('a CtrLoRA condition is in the library at once and steers a generation as a hint', async () => {
    const dataset = await services.call('training.importDataset', { path: makeDataset(2, { pairs: true, size: [256, 256] }), name: 'disc-condition' });
    const start = await services.call('training.start', { ...common, recipe: 'ctrlora', checkpoint: byName('tiny-sd15').id, base: byName('tiny-ctrlora-base').id, datasetId: dataset.id, steps: 2 });
    await services.queue.wait(start.jobId);
    await until(() => finished.some((f) => f.runId === start.runId), 30_000);
    const run = await services.call('training.status', { runId: start.runId });
    assert.equal(run.state, 'done', JSON.stringify(run.error));
    const model = (await services.call('library.list', {})).find((i) => i.id === run.resultModelId)!;
    assert.equal(model.kind, 'ctrlora-lora');
    const hint = testCondition(64, 64, 2).toString('base64');
    const gen = await services.call('generate.start', {
      checkpoint: byName('tiny-sd15').id,
      prompt: 'a disc',
      width: 64,
      height: 64,
      steps: 2,
      controls: [{ kind: 'ctrlora', model: model.id, base: byName('tiny-ctrlora-base').id, imagePngBase64: hint, weight: 1, start: 0, end: 1, resizeMode: 'crop-and-resize' }],
    });
    const outcome = await services.queue.wait(gen.jobId);
    assert.equal(outcome.job.state, 'done', JSON.stringify(outcome.job.error));
  });

  it('calibrates, turns a time budget into steps, and cancels a run for good', async () => {
    const dataset = await services.call('training.importDataset', { path: makeDataset(1, { size: [256, 256] }) });
    const report = await services.call('training.calibrate', { recipe: 'style', checkpoint: byName('tiny-sd15').id, resolution: 256, rank: 4 });
    assert.equal(report.provider, 'cpu');
    assert.equal(report.mixedPrecision, false);
    assert.ok(report.secondsPerStep > 0 && report.peakMemoryBytes > 0);
    const quick = report.presets.find((p) => p.name === 'quick')!;
    assert.equal(quick.minutes, 15);
    assert.equal(quick.steps, Math.floor((15 * 60 * 0.85) / report.secondsPerStep));
    const start = await services.call('training.start', { ...common, recipe: 'style', checkpoint: byName('tiny-sd15').id, datasetId: dataset.id, preset: 'quick' });
    assert.equal(start.steps, quick.steps, 'the stored measurement is used');
    assert.equal((await services.call('training.cancel', { runId: start.runId })).ok, true);
    await until(() => finished.some((f) => f.runId === start.runId), 120_000);
    const run = await services.call('training.status', { runId: start.runId });
    assert.equal(run.state, 'cancelled');
    assert.equal((await services.call('training.cancel', { runId: start.runId })).ok, false);
    assert.ok((await services.call('training.runs', {})).some((r) => r.id === start.runId));
  });
});
