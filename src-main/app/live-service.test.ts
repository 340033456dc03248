// Live pictures through main's services, the engine in a child process: a live picture is made like a
// generation but stays out of the history and off the disk until kept; keeping records it once, as a normal
// generation; a cancelled live job stops within one step; the LoRA stack of the request is honoured.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Events, LibraryItem } from '../common/contract.ts';
import type { GenerateInput } from '../common/generation-contract.ts';
import { decodePng, readPngText } from '../formats/png.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { errorKindOf, recordGenerateEvents, startAppServices, type AppServices } from './app-services.test-support.ts';
import type { Services } from './bootstrap.ts';

describe('live pictures', () => {
  let app: AppServices;
  let dataDir: string;
  let services: Services;
  let items: LibraryItem[];
  const progress: Events['generate.progress'][] = [];
  const finished: Events['generate.finished'][] = [];
  const byName = (name: string) => items.find((i) => i.name === name)!;
  const historyTotal = async () => (await services.call('history.list', { limit: 1, offset: 0 })).total;
  const images = () => (existsSync(path.join(dataDir, 'images')) ? readdirSync(path.join(dataDir, 'images'), { recursive: true }).length : 0);

  const input = (extra: Partial<GenerateInput> = {}): GenerateInput =>
    ({ checkpoint: byName('tiny-sd15').id, prompt: 'a red fox in the snow', negative: '', width: 64, height: 64, steps: 4, cfg: 1.5, seed: 77, sampler: 'lcm', ...extra }) as GenerateInput;

  before(async () => {
    app = await startAppServices({
      name: 'live',
      fixtures: ['tiny-sd15.safetensors', 'tiny-lora.safetensors'],
      listen: recordGenerateEvents(progress, finished),
      expectItems: 2,
    });
    ({ services, dataDir, items } = app);
  });
  after(() => app.dispose());

  it('makes a picture that stays out of the history and off the disk, the same for the same edit', async () => {
    const { jobId, seed } = await services.call('live.start', input());
    assert.equal(seed, 77);
    const picture = await services.call('live.result', { jobId });
    assert.equal(picture.jobId, jobId);
    const png = Buffer.from(picture.pngBase64, 'base64');
    const decoded = decodePng(png);
    assert.deepEqual([decoded.width, decoded.height, picture.width, picture.height], [64, 64, 64, 64]);
    assert.match(readPngText(png).parameters ?? '', /Steps: 4, Sampler: LCM/);
    assert.equal(picture.settings.sampler, 'lcm');
    assert.equal(await historyTotal(), 0, 'nothing in the history');
    assert.equal(images(), 0, 'nothing written');
    assert.equal(finished.length, 0);
    assert.ok(progress.filter((p) => p.jobId === jobId).length >= 4, 'each step is reported');
    assert.equal(services.queue.get(jobId)?.title, 'Live picture');
    // the engine yields the CPU to the window being painted in
    assert.ok(os.getPriority(services.supervisor.status().pid!) >= os.constants.priority.PRIORITY_BELOW_NORMAL, 'the engine runs below normal priority');

    // a fixed seed: the same document gives the same picture, so a live picture changes only with the edits
    const again = await services.call('live.start', input());
    assert.equal((await services.call('live.result', { jobId: again.jobId })).pngBase64, picture.pngBase64);
    const other = await services.call('live.start', input({ prompt: 'a castle' }));
    assert.notEqual((await services.call('live.result', { jobId: other.jobId })).pngBase64, picture.pngBase64);
  });

  it('Keep records the picture once, as a normal generation', async () => {
    const { jobId } = await services.call('live.start', input({ seed: 5 }));
    const picture = await services.call('live.result', { jobId });
    const { historyIds } = await services.call('live.keep', { jobId });
    assert.equal(historyIds.length, 1);
    const entry = await services.call('history.get', { id: historyIds[0] });
    assert.equal(entry.jobId, jobId);
    assert.equal(entry.settings.seed, 5);
    assert.equal(entry.settings.sampler, 'lcm');
    assert.equal(entry.settings.steps, 4);
    const file = services.imageFile(historyIds[0]);
    assert.ok(file && existsSync(file), 'the picture is on disk');
    assert.deepEqual(decodePng(Buffer.from(picture.pngBase64, 'base64')).data, decodePng(readFileSync(file)).data, 'the kept picture is the one shown');
    assert.deepEqual(finished.at(-1), { jobId, historyIds }, 'the gallery hears of it as of a finished generation');
    assert.deepEqual(await services.call('live.keep', { jobId }), { historyIds }, 'keeping twice records nothing new');
    assert.equal(await historyTotal(), 1);
  });

  it('a cancelled live job stops within one step; its result and Keep answer why', async () => {
    const before = await historyTotal();
    const { jobId } = await services.call('live.start', input({ steps: 60, width: 128, height: 128, sampler: 'euler' }));
    await until(() => progress.some((p) => p.jobId === jobId && p.step >= 2), 60_000);
    assert.deepEqual(await services.call('jobs.cancel', { id: jobId }), { ok: true });
    const stepAtCancel = Math.max(...progress.filter((p) => p.jobId === jobId).map((p) => p.step));
    assert.equal(await errorKindOf(services.call('live.result', { jobId })), 'cancelled');
    const last = Math.max(...progress.filter((p) => p.jobId === jobId).map((p) => p.step));
    assert.ok(last <= stepAtCancel + 1, `stopped at step ${last}, cancel came after step ${stepAtCancel}`);
    assert.equal(await errorKindOf(services.call('live.keep', { jobId })), 'not-found');
    assert.equal(await historyTotal(), before);
  });

  it('keeps the LoRA stack of the request', async () => {
    const plain = await services.call('live.start', input({ seed: 9 }));
    const withLora = await services.call('live.start', input({ seed: 9, loras: [{ model: byName('tiny-lora').id, weight: 1 }] }));
    const a = await services.call('live.result', { jobId: plain.jobId });
    const b = await services.call('live.result', { jobId: withLora.jobId });
    assert.equal(b.settings.loras.length, 1);
    assert.equal(b.settings.loras[0].model.name, 'tiny-lora');
    assert.match(readPngText(Buffer.from(b.pngBase64, 'base64')).parameters ?? '', /<lora:tiny-lora:1>[\s\S]*Lora hashes/);
    assert.notEqual(a.pngBase64, b.pngBase64, 'the LoRA changes the picture');
  });

  it('refuses batches and unknown jobs with a clear message', async () => {
    await assert.rejects(services.call('live.start', { ...input(), batchSize: 2 }), /live\.start: a live picture is one picture/);
    await assert.rejects(services.call('live.start', { ...input(), steps: 0 }), /live\.start: steps must be/);
    assert.equal(await errorKindOf(services.call('live.result', { jobId: 'no-such-job' })), 'not-found');
    assert.equal(await errorKindOf(services.call('live.keep', { jobId: 'no-such-job' })), 'not-found');
  });
});
