// The documents methods as a renderer calls them: through services.call, so the contract's validators run
// first (bad sizes, too many layers, foreign rasters, non-PNG text are refused as 'bad-request').
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createServices, type Services } from '../app/bootstrap.ts';
import { encodePng } from '../formats/png.ts';
import { createHintLayer } from '../common/document/layers.ts';

const png = (w: number, h: number) => encodePng({ width: w, height: h, channels: 4, data: new Uint8Array(w * h * 4) }).toString('base64');

async function kindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    return (error as { kind?: string }).kind ?? 'no kind';
  }
}

describe('documents.* through the services', () => {
  let services: Services;
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-documents-call-'));
    services = createServices({ dataDir: path.join(tmp, 'data'), resourcesDir: tmp, startEngine: false });
  });
  after(async () => {
    await services.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('create, save, list, open, delete', async () => {
    const created = await services.call('documents.create', { width: 512, height: 512, name: '  Harbour  ' });
    assert.equal(created.record.name, 'Harbour');
    const record = { ...created.record, layers: [...created.record.layers, createHintLayer('pose')] };
    const rasters = [{ id: record.layers[1].rasterId, pngBase64: png(512, 512) }];
    assert.deepEqual(await services.call('documents.save', { id: record.id, revision: 2, record, rasters }), { accepted: true, revision: 2 });
    const [listed] = await services.call('documents.list', {});
    assert.equal(listed.layerCount, 2);
    const opened = await services.call('documents.open', { id: record.id });
    assert.deepEqual(opened.rasters, rasters);
    assert.deepEqual(await services.call('documents.delete', { id: record.id }), { ok: true });
    assert.equal(await kindOf(services.call('documents.open', { id: record.id })), 'not-found');
    assert.equal(await kindOf(services.call('documents.delete', { id: record.id })), 'not-found');
  });

  test('the validators bound every field before main sees it', async () => {
    for (const input of [
      { width: 500, height: 512, name: 'x' }, // not a multiple of 8
      { width: 4096, height: 512, name: 'x' },
      { width: 56, height: 512, name: 'x' },
      { width: 512, height: 512, name: '' },
      { width: 512, height: 512, name: 'x', extra: 1 },
    ]) {
      assert.equal(await kindOf(services.call('documents.create', input)), 'bad-request', JSON.stringify(input));
    }
    const { record } = await services.call('documents.create', { width: 64, height: 64, name: 'A' });
    const save = (patch: Record<string, unknown>) => services.call('documents.save', { id: record.id, revision: 2, record, rasters: [], ...patch });
    const many = Array.from({ length: 65 }, () => createHintLayer('depth'));
    const bad: [string, Record<string, unknown>][] = [
      ['65 layers', { record: { ...record, layers: many } }],
      ['weight 3', { record: { ...record, layers: [{ ...createHintLayer('depth'), weight: 3 }] } }],
      ['start after end', { record: { ...record, layers: [{ ...createHintLayer('depth'), start: 0.8, end: 0.2 }] } }],
      ['a pose of 17 keypoints', { record: { ...record, layers: [{ ...createHintLayer('pose'), people: [{ id: 'p', keypoints: new Array(17).fill({ x: 0, y: 0, visible: true }) }] }] } }],
      ['another document', { id: 'doc-other' }],
      ['revision 0', { revision: 0 }],
      ['a raster of no layer', { rasters: [{ id: 'raster-x', pngBase64: png(64, 64) }] }],
      ['a raster that is no PNG', { rasters: [{ id: record.layers[0].rasterId, pngBase64: 'R0lGODlh' }] }],
      ['an unknown hint kind', { record: { ...record, layers: [{ ...createHintLayer('depth'), hint: 'sdxl' }] } }],
      ['a duplicate layer id', { record: { ...record, layers: [record.layers[0], record.layers[0]] } }],
    ];
    for (const [what, patch] of bad) assert.equal(await kindOf(save(patch)), 'bad-request', what);
    assert.equal(await kindOf(save({ rasters: [{ id: record.layers[0].rasterId, pngBase64: png(32, 64) }] })), 'bad-raster');
    assert.equal(await kindOf(save({})), 'ok');
  });
});
