// Hints tied to a region through main's services, the engine in a child process as in the app: the request's
// controls[i].region is checked by the contract (naming the field), the history records each tie renumbered to
// the regions that ran (an empty region is left out, and a hint tied to it too, with a message), the PNG keeps
// A1111's unit lines untouched and lists each region's hints by their A1111 names in the hintbrush-regions chunk
// (version 2, read here with an independent chunk reader), and a dropped PNG gives each hint its region back,
// although the parameters text lists the units in another order than the request did.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Events, LibraryItem } from '../common/contract.ts';
import type { ControlUnitInput, GenerateInput } from '../common/generation-contract.ts';
import { REGIONS_PNG_KEYWORD } from '../common/regions-contract.ts';
import { encodePng } from '../formats/png.ts';
import { fixture } from '../engine/goldens.test-support.ts';
import { nodeEngineLauncher } from '../jobs/engine-launcher.ts';
import { createServices, type Services } from './bootstrap.ts';

const require = createRequire(import.meta.url);
const extractChunks = require('png-chunks-extract') as (data: Uint8Array) => Array<{ name: string; data: Uint8Array }>;
const decodeText = (require('png-chunk-text') as { decode(data: Uint8Array): { keyword: string; text: string } }).decode;

const SIZE = 64;
const grey = (f: (x: number) => number) => encodePng({ width: SIZE, height: SIZE, channels: 1, data: Uint8Array.from({ length: SIZE * SIZE }, (_, i) => f(i % SIZE)) }).toString('base64');
const hintPng = encodePng({ width: SIZE, height: SIZE, channels: 3, data: Uint8Array.from({ length: 3 * SIZE * SIZE }, (_, i) => ((i / 3) % 9 < 2 ? 255 : 0)) }).toString('base64');

describe('hints tied to a region in the app', () => {
  let tmp: string;
  let services: Services;
  let items: LibraryItem[];
  const finished: Events['generate.finished'][] = [];
  const id = (name: string) => items.find((i) => i.name === name)!.id;
  const regions = () => [
    { maskPngBase64: grey(() => 0), prompt: 'nothing', feather: 0, appendMain: false },
    { maskPngBase64: grey((x) => (x < 28 ? 255 : 0)), prompt: 'a red dragon', feather: 4, appendMain: false },
    { maskPngBase64: grey((x) => (x >= 36 ? 255 : 0)), prompt: 'a castle', feather: 0, appendMain: true },
  ];
  const unit = (kind: ControlUnitInput['kind'], name: string, region: number | null): ControlUnitInput => ({
    kind,
    model: id(name),
    ...(kind === 'ctrlora' ? { base: id('tiny-ctrlora-base') } : {}),
    imagePngBase64: hintPng,
    weight: 0.8,
    start: 0,
    end: 1,
    resizeMode: 'just-resize',
    region,
  });
  const input = (extra: Partial<GenerateInput> = {}): Partial<GenerateInput> => ({
    checkpoint: id('tiny-sd15'),
    prompt: 'a fantasy landscape',
    width: SIZE,
    height: SIZE,
    steps: 2,
    seed: 3,
    sampler: 'ddim',
    ...extra,
  });

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-region-hints-'));
    const dataDir = path.join(tmp, 'data');
    const models = path.join(tmp, 'models');
    mkdirSync(models);
    for (const f of ['tiny-sd15.safetensors', 'tiny-controlnet.safetensors', 'tiny-controlnet-b.safetensors', 'tiny-ctrlora-base.safetensors', 'tiny-ctrlora-edge.safetensors', 'tiny-cnxs.ckpt']) {
      copyFileSync(fixture(f), path.join(models, f));
    }
    services = createServices({
      dataDir,
      resourcesDir: tmp,
      engineLauncher: nodeEngineLauncher({ dataDir, resourcesDir: tmp, env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1' } }),
      supervisor: { heartbeatMs: 200, hangMs: 20_000, backoffInitialMs: 50 },
    });
    services.events.on('generate.finished', (e) => finished.push(e));
    const { jobId } = await services.call('library.add', { paths: [models] });
    await services.queue.wait(jobId);
    items = await services.call('library.list', {});
  });
  after(async () => {
    await services.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('records the ties renumbered, writes them in the PNG chunk and reads them back from the PNG', async () => {
    // request order: CtrLoRA (tied to the castle), a ControlNet tied to the empty region, one tied to the dragon, one untied
    const controls = [unit('ctrlora', 'tiny-ctrlora-edge', 2), unit('controlnet', 'tiny-controlnet-b', 0), unit('controlnet', 'tiny-controlnet', 1), unit('controlnet', 'tiny-controlnet-b', null)];
    const { jobId } = await services.call('generate.start', input({ regions: regions(), controls }));
    const { job, result } = await services.queue.wait(jobId);
    assert.equal(job.state, 'done', job.error?.message);
    const entry = await services.call('history.get', { id: (result as { historyIds: number[] }).historyIds[0] });

    assert.deepEqual(entry.settings.regions?.map((r) => r.prompt), ['a red dragon', 'a castle']);
    assert.deepEqual(entry.settings.controls.map((c) => [c.kind, c.model.name, c.region]), [
      ['ctrlora', 'tiny-ctrlora-edge', 1],
      ['controlnet', 'tiny-controlnet', 0],
      ['controlnet', 'tiny-controlnet-b', undefined],
    ]);
    const messages = finished.find((f) => f.jobId === jobId)?.messages ?? [];
    assert.ok(messages.some((m) => /^hint 2 \(tiny-controlnet-b\.safetensors\) is tied to region 1 \("nothing"\), which is skipped: the hint is skipped too$/.test(m)), messages.join('\n'));

    // A1111's unit lines as sd-webui-controlnet writes them, nothing about regions in them
    assert.match(entry.parameters, /ControlNet 0: "Module: none, Model: tiny-controlnet \[[0-9a-f]{8}\], Weight: 0\.8, Guidance Start: 0, Guidance End: 1, Resize Mode: Just Resize"/);
    assert.match(entry.parameters, /ControlNet 1: "Module: none, Model: tiny-controlnet-b \[[0-9a-f]{8}\], Weight: 0\.8,/);
    assert.match(entry.parameters, /CtrLoRA 0: "Base: tiny-ctrlora-base/);
    assert.doesNotMatch(entry.parameters, /region/i);

    const png = readFileSync(services.imageFile(entry.id)!);
    const texts = extractChunks(png).filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data));
    const chunk = JSON.parse(texts.find((t) => t.keyword === REGIONS_PNG_KEYWORD)!.text) as { version: number; regions: { prompt: string; hints?: string[] }[] };
    assert.equal(chunk.version, 2);
    assert.deepEqual(chunk.regions.map((r) => [r.prompt, r.hints]), [['a red dragon', ['ControlNet 0']], ['a castle', ['CtrLoRA 0']]]);

    // the parameters text lists ControlNets first: the names, not the positions, carry the ties back
    const read = await services.call('png.readParameters', { pngBase64: png.toString('base64') });
    assert.deepEqual(read.settings?.controls.map((c) => [c.kind, c.model.name, c.region]), [
      ['controlnet', 'tiny-controlnet', 0],
      ['controlnet', 'tiny-controlnet-b', undefined],
      ['ctrlora', 'tiny-ctrlora-edge', 1],
    ]);
    assert.deepEqual(read.regions?.map((r) => r.prompt), ['a red dragon', 'a castle']);
  });

  it('refuses a tie to no region, naming the field', async () => {
    const cases: [Partial<GenerateInput>, RegExp][] = [
      [{ regions: regions(), controls: [unit('controlnet', 'tiny-controlnet', 3)] }, /controls\[0\]\.region 3 names no region: the request has 3 \(0 to 2\)/],
      [{ controls: [unit('controlnet', 'tiny-controlnet', 0)] }, /controls\[0\]\.region 0 names no region: the request has none/],
      [{ regions: regions(), controls: [unit('controlnet', 'tiny-controlnet', null), { ...unit('controlnet', 'tiny-controlnet', null), region: 1.5 }] }, /controls\[1\]\.region must be an integer from 0 to 7/],
    ];
    for (const [extra, message] of cases) {
      await assert.rejects(services.call('generate.start', input(extra)), (err: Error) => message.test(err.message), String(message));
    }
  });
});
