import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineStatus } from '../common/contract.ts';
import type { CliIo } from './command.ts';
import { engineStatusLog } from './commands/serve.ts';
import { findCommand, main } from './hintbrush.ts';
import { dataDir } from './paths.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe('hintbrush CLI', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cli-'));
    mkdirSync(path.join(tmp, 'models'));
    copyFileSync(path.join(repo, 'test/fixtures/sd15-tiny/tiny-lora.safetensors'), path.join(tmp, 'models/tiny-lora.safetensors'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('serve tells of each engine crash and restart once, not again after every later job', () => {
    const lines: string[] = [];
    const log = engineStatusLog((l) => lines.push(l));
    const status = (state: EngineStatus['state'], restarts: number): EngineStatus => ({ state, provider: 'cpu', providers: [], pid: 1, restarts, lastError: 'killed (SIGKILL)' });
    const states: Array<[EngineStatus['state'], number]> = [['starting', 0], ['ready', 0], ['busy', 0], ['crashed', 0], ['restarting', 0], ['starting', 1], ['ready', 1], ['busy', 1], ['ready', 1], ['busy', 1], ['ready', 1]];
    for (const [state, restarts] of states) log(status(state, restarts));
    assert.deepEqual(lines, ['Engine crashed: killed (SIGKILL)\n', 'Engine restarted (1 restart so far).\n']);
  });

  it('finds subcommands by their words and leaves the rest as arguments', () => {
    assert.equal(findCommand(['library', 'add', 'a', 'b'])?.command.name, 'library add');
    assert.deepEqual(findCommand(['library', 'add', 'a', 'b'])?.rest, ['a', 'b']);
    assert.equal(findCommand(['serve', '--port', '1'])?.command.name, 'serve');
    assert.equal(findCommand(['library']), null);
  });

  it('prints help, and usage errors exit with 2', async () => {
    const io = captureIo();
    assert.equal(await main(['--help'], io), 0);
    for (const c of ['serve', 'library add', 'library list', 'probe']) assert.match(io.stdout, new RegExp(`  ${c} `));
    const bad = captureIo();
    assert.equal(await main(['frobnicate'], bad), 2);
    assert.match(bad.stderr, /unknown command 'frobnicate'/);
    const missing = captureIo();
    assert.equal(await main(['library', 'add'], missing), 2);
    assert.match(missing.stderr, /missing arguments/);
    const port = captureIo();
    assert.equal(await main(['serve', '--port', 'abc'], port), 2);
    assert.match(port.stderr, /--port must be an integer/);
  });

  it('library add scans a folder and library list shows it, as a table and as JSON', async () => {
    const data = path.join(tmp, 'data');
    const add = captureIo();
    assert.equal(await main(['library', 'add', path.join(tmp, 'models'), '--data', data], add), 0, add.stderr);
    assert.match(add.stdout, /1 model files: 1 added/);
    const list = captureIo();
    assert.equal(await main(['library', 'list', '--data', data], list), 0);
    assert.match(list.stdout, /lora .*tiny-lora\.safetensors/);
    const json = captureIo();
    assert.equal(await main(['library', 'list', '--json', '--data', data], json), 0);
    const items = JSON.parse(json.stdout) as Array<{ kind: string; name: string }>;
    assert.deepEqual(items.map((i) => [i.kind, i.name]), [['lora', 'tiny-lora']]);
  });

  it('library add of a missing path fails with exit code 1 and names it', async () => {
    const io = captureIo();
    assert.equal(await main(['library', 'add', path.join(tmp, 'nope'), '--data', path.join(tmp, 'data')], io), 1);
    assert.match(io.stderr, /nope: does not exist/);
  });

  it('picks the data folder from --data, then $HINTBRUSH_DATA, then the platform app folder', () => {
    assert.equal(dataDir('/x/y'), '/x/y');
    assert.equal(dataDir(undefined, { HINTBRUSH_DATA: '/d' }), '/d');
    assert.equal(dataDir(undefined, { XDG_CONFIG_HOME: '/c' }, 'linux'), '/c/hintbrush');
    assert.match(dataDir(undefined, {}, 'darwin'), /Library\/Application Support\/hintbrush$/);
  });

  it('bin/hintbrush.mjs serve prints a URL that serves, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [path.join(repo, 'bin/hintbrush.mjs'), 'serve', '--port', '0', '--data', path.join(tmp, 'serve-data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        out += c;
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out);
        if (m) resolve(m[0]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const status = (u: string) =>
      new Promise<number>((resolve, reject) => http.get(u, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
    const withToken = await status(url);
    assert.ok(withToken === 200 || withToken === 503, `page answered ${withToken}`); // 503: renderer not built
    assert.equal(await status(url.replace(/\?token=.*/, '')), 403);
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exit, 0, err);
  });
});
