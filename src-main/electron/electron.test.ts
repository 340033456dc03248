// The Electron bundles (build/main/) under a stand-in Electron: the preload exposes one named function per
// method and nothing generic; main opens a sandboxed window on hintbrush://app/, serves the renderer with
// a CSP, refuses IPC from foreign frames, validates input, and runs the engine as a "utilityProcess".
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { METHOD_NAMES, ipcChannel, type HintbrushBridge } from '../common/wire.ts';
import { until } from '../jobs/test-engine.test-support.ts';
import { isTrustedSender } from './ipc.ts';
import { FakeElectron, fakePreloadElectron } from './fake-electron.test-support.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bundle = (name: string) => path.join(repo, 'build', 'main', name);
/** Values made in the preload's own realm (vm context) have other prototypes; compare their data. */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

before(() => {
  const run = spawnSync(process.execPath, [path.join(repo, 'scripts/build.mjs'), '--main'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
});

describe('preload bundle', () => {
  /** Runs preload.cjs as a sandboxed preload: a require() that knows only 'electron'. */
  function loadPreload() {
    const fake = fakePreloadElectron();
    const sandboxRequire = (name: string) => {
      if (name === 'electron') return fake.module;
      throw new Error(`a sandboxed preload cannot require ${name}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(readFileSync(bundle('preload.cjs'), 'utf8'), { require: sandboxRequire, module, exports: module.exports, console });
    return { fake, api: fake.exposed.hintbrush as HintbrushBridge };
  }

  it('exposes one named function per contract method, grouped by namespace, and onEvent', () => {
    const { fake, api } = loadPreload();
    assert.deepEqual(Object.keys(fake.exposed), ['hintbrush']);
    for (const method of METHOD_NAMES) {
      const [ns, fn] = method.split('.');
      assert.equal(typeof (api as unknown as Record<string, Record<string, unknown>>)[ns][fn], 'function', method);
    }
    assert.equal(typeof api.onEvent, 'function');
    assert.ok(!('invoke' in api) && !('send' in api), 'no generic entry point');
  });

  it('calls each method on its own channel and rejects with a plain {kind, message}', async () => {
    const { fake, api } = loadPreload();
    fake.setReply((channel) =>
      channel === ipcChannel('library.add')
        ? { ok: false, error: { kind: 'bad-request', message: 'paths must be a list' } }
        : { ok: true, result: [] },
    );
    assert.deepEqual(await api.library.list(), []);
    assert.deepEqual(plain(fake.invoked[0]), ['hintbrush:library.list', {}]);
    await assert.rejects(api.library.add({ paths: ['x'] }), (err: unknown) => {
      assert.deepEqual(plain(err), { kind: 'bad-request', message: 'paths must be a list' });
      return true;
    });
  });

  it('delivers known events to onEvent listeners, by name or all, and unsubscribes', () => {
    const { fake, api } = loadPreload();
    const named: unknown[] = [];
    const all: unknown[] = [];
    const off1 = api.onEvent('library.changed', (d) => named.push(d));
    const off2 = api.onEvent((name, d) => all.push([name, d]));
    fake.push('hintbrush:event', 'library.changed', { count: 2 });
    fake.push('hintbrush:event', 'job.updated', { id: 'j' });
    fake.push('hintbrush:event', 'not.an.event', {});
    assert.deepEqual(plain(named), [{ count: 2 }]);
    assert.deepEqual(plain(all), [['library.changed', { count: 2 }], ['job.updated', { id: 'j' }]]);
    off1();
    off2();
    assert.equal(fake.listenerCount('hintbrush:event'), 0);
  });
});

describe('electron main bundle', () => {
  let tmp: string;
  let electron: FakeElectron;
  const Module = createRequire(import.meta.url)('node:module') as { _load: (...args: unknown[]) => unknown };
  const originalLoad = Module._load;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-electron-'));
    electron = new FakeElectron(repo, path.join(tmp, 'userData'));
    const fakeModule = electron.main();
    Module._load = function (request: unknown, ...rest: unknown[]) {
      return request === 'electron' ? fakeModule : originalLoad.call(this, request, ...rest);
    };
    createRequire(import.meta.url)(bundle('electron-main.cjs'));
    electron.makeReady();
    await until(() => electron.windows.length > 0);
  });
  after(async () => {
    Module._load = originalLoad;
    const quit = new Promise((r) => electron.appEvents.once('quit', r));
    electron.appEvents.emit('before-quit', { preventDefault: () => undefined });
    await quit;
    for (const c of electron.children) c.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  });

  it('opens a sandboxed, isolated window on hintbrush://app/ with the bundled preload', () => {
    const [win] = electron.windows;
    const prefs = win.options.webPreferences;
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.nodeIntegration, false);
    assert.equal(prefs.preload, bundle('preload.cjs'));
    assert.equal(win.url, 'hintbrush://app/index.html');
    assert.deepEqual(electron.schemes, [
      { scheme: 'hintbrush', privileges: { standard: true, secure: true, supportFetchAPI: true } },
      { scheme: 'hintbrush-image', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
    ]);
    const labels = (electron.menu as Array<{ label?: string; role?: string; submenu?: Array<{ label?: string; role?: string }> }>).map(
      (m) => m.label ?? m.role,
    );
    assert.deepEqual(labels.filter((l) => l !== 'appMenu'), ['File', 'editMenu', 'View', 'help']);
    const file = (electron.menu as Array<{ label?: string; submenu: Array<{ label?: string; role?: string }> }>).find((m) => m.label === 'File')!;
    assert.ok(file.submenu.some((i) => i.label === 'Add Folder…'));
    assert.ok(file.submenu.some((i) => i.role === 'quit' || i.role === 'close'));
  });

  it('answers every contract method on its own channel, and only from our page', async () => {
    for (const method of METHOD_NAMES) assert.ok(electron.handlers.has(ipcChannel(method)), method);
    assert.deepEqual(await electron.invoke('hintbrush:library.list', {}), { ok: true, result: [] });
    for (const url of ['https://evil.example/', 'file:///etc/passwd', 'hintbrush://evil/index.html', null]) {
      const reply = (await electron.invoke('hintbrush:library.list', {}, url)) as { ok: boolean; error: { kind: string } };
      assert.equal(reply.ok, false, String(url));
      assert.equal(reply.error.kind, 'forbidden');
    }
    const iframe = (await electron.invoke('hintbrush:library.list', {}, 'hintbrush://app/x.html', {})) as { ok: boolean };
    assert.equal(iframe.ok, false, 'a sub-frame is refused even on our origin');
    assert.ok(isTrustedSender({ senderFrame: { url: 'hintbrush://app/index.html#/library', parent: null } }));
  });

  it('validates input before anything runs', async () => {
    const reply = (await electron.invoke('hintbrush:library.add', { paths: 'x' })) as { ok: boolean; error: { kind: string } };
    assert.deepEqual([reply.ok, reply.error.kind], [false, 'bad-request']);
    const info = (await electron.invoke('hintbrush:app.info', {})) as { ok: boolean; result: { mode: string; version: string } };
    assert.deepEqual([info.result.mode, info.result.version], ['electron', '0.0.0-test']);
  });

  it('serves the renderer on hintbrush://app/ with a strict CSP, and nothing outside it', async () => {
    const handler = electron.protocolHandler!;
    const page = await handler(new Request('hintbrush://app/index.html'));
    assert.ok(page.status === 200 || page.status === 404, String(page.status)); // 404 until the renderer is built
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
    for (const url of ['hintbrush://app/../package.json', 'hintbrush://app/%2e%2e/package.json', 'hintbrush://other/index.html']) {
      assert.equal((await handler(new Request(url))).status, 404, url);
    }
    assert.match(page.headers.get('content-security-policy') ?? '', /img-src 'self' data: blob: hintbrush-image:/);
    const images = electron.protocolHandlers.get('hintbrush-image')!;
    assert.equal((await images(new Request('hintbrush-image://history/1.png'))).status, 404, 'no history yet');
  });

  it('runs the engine through utilityProcess and pushes its status to the window', async () => {
    await until(() => {
      const sent = electron.windows[0].sent;
      return sent.some(([ch, name, data]) => ch === 'hintbrush:event' && name === 'engine.status' && (data as { state: string }).state === 'ready');
    }, 20_000);
    assert.equal(electron.children.length, 1);
    const status = (await electron.invoke('hintbrush:engine.status', {})) as { result: { pid: number; state: string } };
    assert.equal(status.result.pid, electron.children[0].pid);
    assert.equal(status.result.state, 'ready');
  });
});
