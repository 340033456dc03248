// The CLI's optimized-model cache: the folder chosen per platform and environment, and `hintbrush generate` on the
// tiny fixtures (engine in a child process, as in the app) writing its entries there, not in the temp folder; a
// folder that cannot be made turns the cache off with one warning line and the picture is still made.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fixture } from '../engine/goldens.test-support.ts';
import { main } from './hintbrush.ts';
import { cliOrtCacheFolder, defaultCliOrtCacheFolder, prepareCliOrtCache } from './ort-cache-folder.ts';

describe('the CLI cache folder per platform', () => {
  it('Linux follows XDG: $XDG_CACHE_HOME/hintbrush/ort-cache when absolute, else ~/.cache/hintbrush/ort-cache', () => {
    assert.equal(defaultCliOrtCacheFolder({ XDG_CACHE_HOME: '/xdg/cache' }, 'linux', '/home/ann'), '/xdg/cache/hintbrush/ort-cache');
    assert.equal(defaultCliOrtCacheFolder({}, 'linux', '/home/ann'), '/home/ann/.cache/hintbrush/ort-cache');
    // the spec: an empty or relative value is ignored
    assert.equal(defaultCliOrtCacheFolder({ XDG_CACHE_HOME: '' }, 'linux', '/home/ann'), '/home/ann/.cache/hintbrush/ort-cache');
    assert.equal(defaultCliOrtCacheFolder({ XDG_CACHE_HOME: 'rel/cache' }, 'linux', '/home/ann'), '/home/ann/.cache/hintbrush/ort-cache');
    assert.equal(defaultCliOrtCacheFolder({ XDG_CACHE_HOME: '/xdg' }, 'freebsd', '/home/ann'), '/xdg/hintbrush/ort-cache');
  });

  it('macOS uses ~/Library/Caches/Hintbrush, whatever XDG says', () => {
    assert.equal(defaultCliOrtCacheFolder({ XDG_CACHE_HOME: '/xdg' }, 'darwin', '/Users/ann'), '/Users/ann/Library/Caches/Hintbrush/ort-cache');
  });

  it('Windows uses %LOCALAPPDATA%\\Hintbrush\\Cache, else the profile\'s AppData\\Local', () => {
    assert.equal(defaultCliOrtCacheFolder({ LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' }, 'win32', 'C:\\Users\\ann'), 'C:\\Users\\ann\\AppData\\Local\\Hintbrush\\Cache\\ort-cache');
    assert.equal(defaultCliOrtCacheFolder({}, 'win32', 'C:\\Users\\ann'), 'C:\\Users\\ann\\AppData\\Local\\Hintbrush\\Cache\\ort-cache');
  });

  it('HINTBRUSH_ORT_CACHE overrides the folder on every platform, and =off turns the cache off', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      assert.equal(cliOrtCacheFolder({ HINTBRUSH_ORT_CACHE: '/big/disk/cache', XDG_CACHE_HOME: '/xdg' }, platform, '/h'), '/big/disk/cache');
      assert.equal(cliOrtCacheFolder({ HINTBRUSH_ORT_CACHE: 'off' }, platform, '/h'), null);
      assert.equal(cliOrtCacheFolder({ HINTBRUSH_ORT_CACHE: '' }, platform, '/h'), defaultCliOrtCacheFolder({}, platform, '/h'));
    }
  });

  it('prepares the folder for the engine, or turns the cache off with one warning when it cannot be made', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cache-folder-'));
    try {
      const warnings: string[] = [];
      const made = prepareCliOrtCache((l) => warnings.push(l), { XDG_CACHE_HOME: path.join(tmp, 'xdg') });
      assert.deepEqual(made, { HINTBRUSH_ORT_CACHE: path.join(tmp, 'xdg', 'hintbrush', 'ort-cache') });
      assert.ok(existsSync(made.HINTBRUSH_ORT_CACHE));
      assert.deepEqual(prepareCliOrtCache((l) => warnings.push(l), { HINTBRUSH_ORT_CACHE: 'off' }), { HINTBRUSH_ORT_CACHE: 'off' });
      assert.equal(warnings.length, 0);
      writeFileSync(path.join(tmp, 'a-file'), 'not a folder');
      assert.deepEqual(prepareCliOrtCache((l) => warnings.push(l), { XDG_CACHE_HOME: path.join(tmp, 'a-file') }), { HINTBRUSH_ORT_CACHE: 'off' });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /^Warning: cannot use .*a-file\/hintbrush\/ort-cache for the optimized-model cache \(ENOTDIR\); running without it .*\n$/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('hintbrush generate keeps its optimized models in the per-user cache folder', () => {
  const KEYS = ['HOME', 'XDG_CACHE_HOME', 'TMPDIR', 'HINTBRUSH_ORT_CACHE'] as const;
  const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  const cwd = process.cwd();
  let tmp: string;
  let tmpdir: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cli-cache-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));
  beforeEach(() => {
    // a temp folder of the run's own, so "not in os.tmpdir()" is checked where nothing else writes
    tmpdir = mkdtempSync(path.join(tmp, 'tmpdir-'));
    process.env.TMPDIR = tmpdir;
    process.env.HOME = mkdtempSync(path.join(tmp, 'home-'));
    delete process.env.XDG_CACHE_HOME;
    delete process.env.HINTBRUSH_ORT_CACHE;
    // onnxruntime keeps a telemetry file under $XDG_CACHE_HOME, and in the working folder when it cannot (":memory:.ses")
    process.chdir(tmp);
  });
  afterEach(() => {
    process.chdir(cwd);
    for (const k of KEYS) if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  });

  const generate = async (name: string) => {
    const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
    const out = path.join(tmp, `${name}.png`);
    const code = await main(['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'a red fox', '--width', '64', '--height', '64', '--steps', '1',
      '--seed', '3', '--sampler', 'euler', '--provider', 'cpu', '--precision', 'fp32', '--out', out], io);
    assert.equal(code, 0, io.stderr);
    assert.ok(existsSync(out), 'the picture is written');
    return io;
  };
  /** Cache entries (folders holding model.onnx and weights.bin) in `folder`. */
  const entries = (folder: string) => (existsSync(folder) ? readdirSync(folder).filter((n) => existsSync(path.join(folder, n, 'model.onnx')) && existsSync(path.join(folder, n, 'weights.bin'))) : []);
  const assertNothingInTmpdir = () => {
    assert.equal(os.tmpdir(), tmpdir);
    assert.deepEqual(readdirSync(tmpdir).filter((n) => n.includes('ort-cache')), [], 'nothing cached in the temp folder');
  };

  it('the help of hintbrush, generate and train names the folder', async () => {
    process.env.XDG_CACHE_HOME = path.join(tmp, 'xdg');
    const folder = path.join(tmp, 'xdg', 'hintbrush', 'ort-cache');
    for (const argv of [['--help'], ['generate', '--help'], ['train', '--help']]) {
      const io = { stdout: '', isTty: false, out: (t: string) => void (io.stdout += t), err: () => {} };
      assert.equal(await main(argv, io), 0);
      assert.ok(io.stdout.includes(`\nOptimized-model cache: ${folder} (at most 8 GiB); HINTBRUSH_ORT_CACHE=<folder> moves it, =off turns it off.\n`), argv.join(' '));
    }
  });

  it('$XDG_CACHE_HOME/hintbrush/ort-cache, not the temp folder', async () => {
    process.env.XDG_CACHE_HOME = path.join(tmp, 'xdg');
    const io = await generate('xdg');
    assert.ok(entries(defaultCliOrtCacheFolder()).length > 0, 'the VAE session is cached in the XDG cache folder');
    assert.ok(defaultCliOrtCacheFolder().startsWith(path.join(tmp, 'xdg')));
    assertNothingInTmpdir();
    assert.doesNotMatch(io.stderr, /Warning/);
  });

  it('the home folder\'s cache folder when XDG_CACHE_HOME is unset', async () => {
    await generate('home');
    const folder = defaultCliOrtCacheFolder();
    assert.ok(folder.startsWith(process.env.HOME!), folder);
    if (process.platform === 'linux') assert.equal(folder, path.join(process.env.HOME!, '.cache', 'hintbrush', 'ort-cache'));
    assert.ok(entries(folder).length > 0);
    assertNothingInTmpdir();
  });

  it('HINTBRUSH_ORT_CACHE moves it', async () => {
    process.env.XDG_CACHE_HOME = path.join(tmp, 'xdg-unused');
    process.env.HINTBRUSH_ORT_CACHE = path.join(tmp, 'moved');
    await generate('moved');
    assert.ok(entries(path.join(tmp, 'moved')).length > 0);
    // (onnxruntime itself keeps a device id under $XDG_CACHE_HOME/Microsoft: only ours must not be there)
    assert.equal(existsSync(path.join(tmp, 'xdg-unused', 'hintbrush')), false);
    assertNothingInTmpdir();
  });

  it('a cache folder that cannot be made: one warning line, no cache, the picture still made', async () => {
    mkdirSync(path.join(tmp, 'blocked'), { recursive: true });
    writeFileSync(path.join(tmp, 'blocked', 'cache'), 'a file where the cache folder would go');
    process.env.XDG_CACHE_HOME = path.join(tmp, 'blocked', 'cache');
    const io = await generate('blocked');
    const warnings = io.stderr.split('\n').filter((l) => /warning/i.test(l));
    assert.equal(warnings.length, 1, io.stderr);
    assert.match(warnings[0], /^Warning: cannot use .*blocked\/cache\/hintbrush\/ort-cache for the optimized-model cache \(ENOTDIR\); running without it/);
    assertNothingInTmpdir();
  });
});
