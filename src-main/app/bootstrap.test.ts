import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineStatus, Events, JobInfo } from '../common/contract.ts';
import { encodePng } from '../formats/png.ts';
import { nodeEngineLauncher } from '../jobs/engine-launcher.ts';
import { openLibraryDatabase } from '../library/database.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { createServices, type Services } from './bootstrap.ts';
import { errorKindOf } from './app-services.test-support.ts';
import { DATABASE_FILE, libraryStores } from './library-port.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixture = path.join(repo, 'test/fixtures/sd15-tiny/tiny-lora.safetensors');

describe('createServices', () => {
  let dataDir: string;
  let modelsDir: string;
  let services: Services;
  const seen: { [E in keyof Events]: Events[E][] } = {
    'library.changed': [],
    'engine.status': [],
    'job.updated': [],
    'generate.progress': [],
    'generate.finished': [],
    'training.progress': [],
    'training.finished': [],
  };

  before(() => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-bootstrap-'));
    dataDir = path.join(tmp, 'data');
    modelsDir = path.join(tmp, 'models');
    mkdirSync(modelsDir);
    copyFileSync(fixture, path.join(modelsDir, 'tiny-lora.safetensors'));
    services = createServices({
      dataDir,
      resourcesDir: path.join(repo, 'resources'),
      engineLauncher: nodeEngineLauncher({ dataDir, resourcesDir: repo, env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1' } }),
      supervisor: { heartbeatMs: 200, hangMs: 5_000, backoffInitialMs: 50 },
    });
    services.events.onAny((name, data) => (seen[name] as unknown[]).push(data));
  });
  after(async () => {
    await services.dispose();
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('rejects invalid input with kind bad-request before any handler runs', async () => {
    assert.equal(await errorKindOf(services.call('library.add', { paths: 'not-a-list' })), 'bad-request');
    assert.equal(await errorKindOf(services.call('library.add', { paths: [] })), 'bad-request');
    assert.equal(await errorKindOf(services.call('library.remove', { id: -1 })), 'bad-request');
    assert.equal(await errorKindOf(services.call('library.list', { extra: true })), 'bad-request');
    assert.equal(await errorKindOf(services.call('jobs.cancel', { id: 7 })), 'bad-request');
    assert.equal(await errorKindOf(services.call('no.such.method', {})), 'bad-request');
    assert.equal(await errorKindOf(services.call('__proto__', {})), 'bad-request');
    assert.equal(await errorKindOf(services.call('library.list', [1])), 'bad-request');
    assert.deepEqual(await services.call('jobs.list', {}), [], 'nothing was queued by the bad requests');
  });

  it('answers app.info and refuses the folder picker in browser mode', async () => {
    const info = await services.call('app.info', {});
    assert.equal(info.mode, 'browser');
    assert.equal(info.dataDir, dataDir);
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal(await errorKindOf(services.call('dialog.chooseFolders', {})), 'unsupported');
  });

  it('library.add runs a scan job with progress and announces the change', async () => {
    const { jobId } = await services.call('library.add', { paths: [modelsDir] });
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    assert.equal(job.kind, 'scan');
    const items = await services.call('library.list', {});
    assert.equal(items.length, 1);
    assert.equal(items[0].kind, 'lora');
    assert.deepEqual((await services.call('library.roots', {})).map((r) => r.path), [modelsDir]);
    assert.ok(seen['library.changed'].some((e) => e.count === 1));
    const updates = seen['job.updated'].filter((j: JobInfo) => j.id === jobId);
    assert.deepEqual([...new Set(updates.map((j) => j.state))], ['queued', 'running', 'done']);
    assert.ok((await services.call('jobs.list', {})).some((j) => j.id === jobId));
  });

  it('library.add of a missing folder fails its job with the library error kind', async () => {
    const { jobId } = await services.call('library.add', { paths: [path.join(modelsDir, 'nope')] });
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'failed');
    assert.equal(job.error?.kind, 'not-found');
  });

  it('library.remove removes a model, and names a missing one', async () => {
    const [item] = await services.call('library.list', {});
    assert.deepEqual(await services.call('library.remove', { id: item.id }), { ok: true });
    assert.equal((await services.call('library.list', {})).length, 0);
    assert.equal(await errorKindOf(services.call('library.remove', { id: item.id })), 'not-found');
  });

  it('engine.probe runs a probe job in the engine and reports the providers in engine.status', async () => {
    const { jobId } = await services.call('engine.probe', {});
    const { job } = await services.queue.wait(jobId);
    assert.equal(job.state, 'done', JSON.stringify(job.error));
    await until(() => services.supervisor.status().providers.length > 1);
    const status: EngineStatus = await services.call('engine.status', {});
    const cpu = status.providers.find((p) => p.name === 'cpu');
    assert.deepEqual(cpu, { name: 'cpu', available: true, reason: '' });
    for (const p of status.providers) assert.ok(p.available || p.reason.length > 0, `${p.name} says why it is unavailable`);
    assert.ok(seen['engine.status'].some((s) => s.state === 'ready'));
  });

  it('jobs.cancel answers ok:false for an unknown or finished job', async () => {
    assert.deepEqual(await services.call('jobs.cancel', { id: 'nope' }), { ok: false });
  });
});

describe('createServices on a full disk (the database at its size limit)', () => {
  it('documents.save answers disk-full naming the data folder and keeps the stored document; the services keep serving', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-bootstrap-full-'));
    const db = openLibraryDatabase(path.join(tmp, DATABASE_FILE));
    const services = createServices({
      dataDir: tmp,
      resourcesDir: path.join(repo, 'resources'),
      startEngine: false,
      openLibrary: (_dir, onChanged) => libraryStores(db, onChanged),
    });
    try {
      const doc = await services.call('documents.create', { width: 64, height: 64, name: 'sketch' });
      db.exec('CREATE TABLE filler (x BLOB)');
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
      const fill = db.prepare('INSERT INTO filler (x) VALUES (?)');
      for (const size of [4000, 500, 50, 1]) assert.throws(() => { for (;;) fill.run(Buffer.alloc(size)); }, /database or disk is full/);

      // noise does not compress: a raster of several pages, more than any table's free room
      const noise = new Uint8Array(randomBytes(64 * 64 * 4));
      const raster = { id: doc.record.layers[0].rasterId, pngBase64: encodePng({ width: 64, height: 64, channels: 4, data: noise }).toString('base64') };
      const save = services.call('documents.save', { id: doc.record.id, revision: doc.revision + 1, record: { ...doc.record, name: 'sketch, renamed' }, rasters: [raster] });
      await assert.rejects(save, (e: Error & { kind?: string }) => e.kind === 'disk-full' && e.message.includes(tmp) && /could not save the document/.test(e.message));
      assert.equal((await services.call('app.info', {})).dataDir, tmp, 'still serving');
      const stored = await services.call('documents.open', { id: doc.record.id });
      assert.equal(stored.revision, doc.revision);
      assert.equal(stored.record.name, 'sketch');

      db.pragma('max_page_count = 1073741823'); // space freed: the same save goes through
      assert.equal((await services.call('documents.save', { id: doc.record.id, revision: doc.revision + 1, record: { ...doc.record, name: 'sketch, renamed' }, rasters: [raster] })).accepted, true);
    } finally {
      await services.dispose();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
