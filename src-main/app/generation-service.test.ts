// Generation through main's services, the engine in a child process: jobs land in the history with every
// parameter, a cancel stops within a step, and an engine killed mid-job fails the job and leaves the history
// as it was; a full disk fails the job in words and leaves nothing half-written.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Events, LibraryItem } from '../common/contract.ts';
import type { GenerateInput } from '../common/generation-contract.ts';
import { fixture } from '../engine/goldens.test-support.ts';
import { fillDisk, tempFilesIn } from '../formats/disk-full.test-support.ts';
import { hugePng16 } from '../formats/huge-png.test-support.ts';
import { decodePng, encodePng } from '../formats/png.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { errorKindOf, recordGenerateEvents, startAppServices, type AppServices } from './app-services.test-support.ts';
import type { Services } from './bootstrap.ts';

/** A 64x48 RGB gradient PNG (another size and ratio than the generation's, so it is resized). */
function hintPng(): string {
  const data = new Uint8Array(64 * 48 * 3).map((_, i) => (i * 7) % 251);
  return encodePng({ width: 64, height: 48, channels: 3, data }).toString('base64');
}

describe('generation services', () => {
  let app: AppServices;
  let dataDir: string;
  let services: Services;
  let items: LibraryItem[];
  const progress: Events['generate.progress'][] = [];
  const finished: Events['generate.finished'][] = [];
  const byName = (name: string) => items.find((i) => i.name === name)!;

  const input = (extra: Partial<GenerateInput> = {}): Partial<GenerateInput> => ({
    checkpoint: byName('tiny-sd15').id,
    prompt: 'a red fox in the snow',
    negative: 'blurry',
    width: 128,
    height: 128,
    steps: 4,
    cfg: 6,
    sampler: 'euler_a',
    ...extra,
  });

  before(async () => {
    app = await startAppServices({
      name: 'generation',
      fixtures: ['tiny-sd15.safetensors', 'tiny-controlnet.safetensors', 'tiny-lora.safetensors'],
      listen: recordGenerateEvents(progress, finished),
      expectItems: 3,
    });
    ({ services, dataDir, items } = app);
  });
  after(() => app.dispose());

  it('refuses models the library does not hold and values out of bounds', async () => {
    assert.equal(await errorKindOf(services.call('generate.start', input({ checkpoint: fixture('tiny-sd15.safetensors') }))), 'not-found');
    assert.equal(await errorKindOf(services.call('generate.start', input({ checkpoint: byName('tiny-lora').id }))), 'wrong-model');
    assert.equal(await errorKindOf(services.call('generate.start', input({ width: 100 }))), 'bad-request');
    assert.equal(await errorKindOf(services.call('generate.start', input({ steps: 151 }))), 'bad-request');
    assert.equal(await errorKindOf(services.call('generate.start', input({ seed: 2 ** 32 }))), 'bad-request');
    assert.equal(await errorKindOf(services.call('generate.start', { ...input(), loras: [{ model: 1, weight: 2.5 }] })), 'bad-request');
    const unit = { kind: 'controlnet', model: byName('tiny-controlnet').id, imagePngBase64: hintPng(), weight: 1, start: 0.5, end: 0.5 };
    assert.equal(await errorKindOf(services.call('generate.start', { ...input(), controls: [unit] })), 'bad-request');
    assert.equal(await errorKindOf(services.call('generate.start', { ...input(), extra: 1 })), 'bad-request');
    assert.equal((await services.call('history.list', { limit: 10, offset: 0 })).total, 0);
  });

  it('a job with a ControlNet and a LoRA lands in the history with all its parameters', async () => {
    const cn = byName('tiny-controlnet');
    const lora = byName('tiny-lora');
    const { jobId, seed } = await services.call(
      'generate.start',
      input({
        controls: [{ kind: 'controlnet', model: cn.path, imagePngBase64: hintPng(), weight: 0.8, start: 0, end: 0.75, resizeMode: 'crop-and-resize', layer: 'Scribble 2' }],
        loras: [{ model: lora.id, weight: 0.7 }],
        batchSize: 2,
        seed: null,
      }),
    );
    assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32, 'a random seed was drawn and answered');
    const { job, result } = await services.queue.wait(jobId);
    assert.equal(job.state, 'done', job.error?.message);
    const { historyIds } = result as { historyIds: number[] };
    assert.deepEqual(finished.at(-1), { jobId, historyIds });
    const mine = progress.filter((p) => p.jobId === jobId && p.step > 0);
    assert.deepEqual(mine.map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(mine.every((p) => p.total === 8 && p.previewPngBase64));

    const page = await services.call('history.list', { limit: 10, offset: 0 });
    assert.equal(page.total, 2);
    const entries = [...page.items].sort((a, b) => a.settings.batchIndex - b.settings.batchIndex);
    assert.deepEqual(entries.map((e) => e.id).sort(), [...historyIds].sort());
    for (const [i, e] of entries.entries()) {
      const s = e.settings;
      assert.deepEqual(
        [s.prompt, s.negative, s.width, s.height, s.steps, s.cfg, s.seed, s.sampler, s.clipSkip, s.batchSize, s.batchIndex],
        ['a red fox in the snow', 'blurry', 128, 128, 4, 6, seed + i, 'euler_a', 1, 2, i],
      );
      assert.deepEqual(s.checkpoint, { id: byName('tiny-sd15').id, name: 'tiny-sd15', hash: byName('tiny-sd15').shortHash, path: byName('tiny-sd15').path });
      assert.deepEqual(
        s.controls.map((c) => [c.kind, c.model.id, c.weight, c.start, c.end, c.resizeMode, c.layer]),
        [['controlnet', cn.id, 0.8, 0, 0.75, 'crop-and-resize', 'Scribble 2']],
      );
      assert.deepEqual(s.loras.map((l) => [l.model.id, l.model.hash, l.weight]), [[lora.id, 'c5878c3f88bb', 0.7]]);
      assert.equal(e.imageUrl, `/images/${e.id}.png`);
      const file = services.imageFile(e.id)!;
      assert.ok(file.startsWith(path.join(dataDir, 'images')));
      const png = decodePng(readFileSync(file));
      assert.deepEqual([png.width, png.height], [128, 128]);
      assert.equal(png.text.parameters, e.parameters);
      assert.match(e.parameters, new RegExp(`Seed: ${seed + i}, Size: 128x128, Model hash: ${byName('tiny-sd15').shortHash}, Model: tiny-sd15`));
      assert.match(e.parameters, /<lora:tiny-lora:0.7>/);
    }

    // what a dropped PNG says, matched against the library
    const read = await services.call('png.readParameters', { pngBase64: readFileSync(services.imageFile(entries[1].id)!).toString('base64') });
    assert.equal(read.settings?.seed, seed + 1);
    assert.equal(read.settings?.prompt, 'a red fox in the snow');
    assert.equal(read.settings?.checkpoint.id, byName('tiny-sd15').id);
    assert.deepEqual(read.settings?.controls.map((c) => [c.model.id, c.weight, c.end]), [[cn.id, 0.8, 0.75]]);
    assert.deepEqual(read.settings?.loras.map((l) => [l.model.id, l.weight]), [[lora.id, 0.7]]);
    assert.deepEqual(await services.call('png.readParameters', { pngBase64: encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.of(0) }).toString('base64') }), {
      parameters: null,
      settings: null,
    });

    assert.equal((await services.call('history.list', { query: 'FOX snow', limit: 10, offset: 0 })).total, 2);
    assert.equal((await services.call('history.list', { query: 'cat', limit: 10, offset: 0 })).total, 0);
    assert.equal((await services.call('history.list', { modelId: byName('tiny-sd15').id, limit: 1, offset: 1 })).items.length, 1);
    const gone = services.imageFile(entries[0].id)!;
    assert.deepEqual(await services.call('history.delete', { id: entries[0].id }), { ok: true });
    assert.equal(existsSync(gone), false);
    assert.equal(await errorKindOf(services.call('history.get', { id: entries[0].id })), 'not-found');
    assert.equal((await services.call('history.get', { id: entries[1].id })).settings.seed, seed + 1);
  });

  it('a cancelled job stops within one step and records nothing', async () => {
    const before = (await services.call('history.list', { limit: 10, offset: 0 })).total;
    const { jobId } = await services.call('generate.start', input({ steps: 60, seed: 5 }));
    await until(() => progress.some((p) => p.jobId === jobId && p.step >= 2), 60_000);
    assert.deepEqual(await services.call('jobs.cancel', { id: jobId }), { ok: true });
    const stepAtCancel = Math.max(...progress.filter((p) => p.jobId === jobId).map((p) => p.step));
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'cancelled');
    const last = Math.max(...progress.filter((p) => p.jobId === jobId).map((p) => p.step));
    assert.ok(last <= stepAtCancel + 1, `stopped at step ${last}, cancel came after step ${stepAtCancel}`);
    assert.equal((await services.call('history.list', { limit: 10, offset: 0 })).total, before);
  });

  it('killing the engine mid-job fails the job and leaves the history intact', async () => {
    const page = await services.call('history.list', { limit: 10, offset: 0 });
    const files = readdirSync(path.join(dataDir, 'images'), { recursive: true }).sort();
    await until(() => services.supervisor.status().state === 'ready', 30_000);
    const { jobId } = await services.call('generate.start', input({ steps: 100, seed: 9, batchCount: 2 }));
    await until(() => progress.some((p) => p.jobId === jobId && p.step >= 1), 60_000);
    process.kill(services.supervisor.status().pid!, 'SIGKILL');
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.kind, 'engine-crashed');
    assert.deepEqual(await services.call('history.list', { limit: 10, offset: 0 }), page);
    assert.deepEqual(readdirSync(path.join(dataDir, 'images'), { recursive: true }).sort(), files);
    assert.equal(finished.some((f) => f.jobId === jobId), false);
    // the engine comes back and the next job runs
    const next = await services.call('generate.start', input({ steps: 2, seed: 1 }));
    assert.equal((await services.queue.wait(next.jobId)).job.state, 'done');
    assert.equal((await services.call('history.list', { limit: 10, offset: 0 })).total, page.total + 1);
  });

  it('a full disk while saving the pictures fails the job with disk-full in words and leaves nothing behind', async (t) => {
    const page = await services.call('history.list', { limit: 10, offset: 0 });
    const images = path.join(dataDir, 'images');
    const files = readdirSync(images, { recursive: true }).sort();
    // room for about one picture: the first of the batch may be written, the second cannot
    const onePicture = statSync(services.imageFile(page.items[0].id)!).size;
    const disk = fillDisk(t, images, { freeBytes: onePicture + 500 });
    const { jobId } = await services.call('generate.start', input({ steps: 2, seed: 3, batchSize: 2 }));
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.kind, 'disk-full');
    assert.match(job.error!.message, /disk is full: could not save .*\.png in .*images.* needed/);
    assert.ok(disk.opened.length >= 1);
    assert.deepEqual(readdirSync(images, { recursive: true }).sort(), files, 'no picture and no temporary file is left');
    assert.deepEqual(tempFilesIn(images), []);
    assert.deepEqual(await services.call('history.list', { limit: 10, offset: 0 }), page);
    // the services keep serving, and with room again the same request is saved
    disk.restore();
    const again = await services.call('generate.start', input({ steps: 2, seed: 3 }));
    assert.equal((await services.queue.wait(again.jobId)).job.state, 'done');
    assert.equal((await services.call('history.list', { limit: 10, offset: 0 })).total, page.total + 1);
  });

  it('an 8192x8192 16-bit RGBA picture as init image and as hint: decoded to the job\'s size, the engine stays small', async (t) => {
    if (process.platform !== 'linux') return t.skip('reads the engine\'s peak memory from /proc');
    const huge = readFileSync(await hugePng16()).toString('base64');
    await until(() => services.supervisor.status().state === 'ready', 30_000);
    const pid = services.supervisor.status().pid!;
    const peakMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    // the same job with a small picture first, so the models' own memory is in the baseline
    const small = encodePng({ width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3).fill(128) }).toString('base64');
    const job = (png: string) => input({
      width: 64, height: 64, steps: 2, seed: 4,
      init: { imagePngBase64: png, strength: 0.5, resizeMode: 'just-resize' },
      controls: [{ kind: 'controlnet', model: byName('tiny-controlnet').id, imagePngBase64: png, weight: 1, start: 0, end: 1, resizeMode: 'crop-and-resize' }],
    });
    const first = await services.call('generate.start', job(small));
    assert.equal((await services.queue.wait(first.jobId)).job.state, 'done');
    const baseline = peakMb();
    const started = Date.now();
    const { jobId } = await services.call('generate.start', job(huge));
    const { job: done } = await services.queue.wait(jobId);
    assert.equal(done.state, 'done', done.error?.message);
    const grown = peakMb() - baseline;
    t.diagnostic(`engine peak ${peakMb().toFixed(0)} MB, ${grown.toFixed(0)} MB above the same job with a 64x64 picture; ${Date.now() - started} ms`);
    assert.ok(grown < 150, `the engine's peak grew by ${grown.toFixed(0)} MB to ${peakMb().toFixed(0)} MB (the job took ${Date.now() - started} ms)`);
    assert.equal(services.supervisor.status().pid, pid, 'the same engine process did both');
  });
});
