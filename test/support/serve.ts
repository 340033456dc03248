// Starts `hintbrush serve` as a child process, the way a user runs it, and stops it again.
// Used by every end-to-end test: `const server = await startServe(); ... await server.stop();`
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { rendererBuildDir, repoRoot } from './paths.ts';

export interface ServeHandle {
  /** The page URL the server printed, token included. */
  url: string;
  origin: string;
  token: string;
  dataDir: string;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL, no shutdown work), as a crash or a power cut would; keeps the data folder. */
  kill(): Promise<void>;
}

export interface ServeOptions {
  /** Data folder; a fresh temporary one (removed on stop) when omitted. */
  dataDir?: string;
  /** Extra arguments after `serve --port 0 --data DIR`. */
  args?: string[];
  /** How long to wait for the URL. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

const URL_PATTERN = /https?:\/\/[^\s"'<>]+[?&]token=[^\s"'<>]+/;

export async function startServe(options: ServeOptions = {}): Promise<ServeHandle> {
  const bin = path.join(repoRoot, 'bin', 'hintbrush.mjs');
  if (!existsSync(bin)) throw new Error(`${bin} does not exist: the CLI is needed for end-to-end tests`);
  if (!existsSync(path.join(rendererBuildDir, 'index.html'))) {
    throw new Error(`${rendererBuildDir} has no index.html: build the renderer first (npm run build)`);
  }
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'hintbrush-e2e-')));
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--data', dataDir, ...(options.args ?? [])],
    { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));

  let url: string;
  try {
    url = await waitForUrl(child, () => output, options.timeoutMs ?? 30_000);
  } catch (err) {
    await stopChild(child);
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token') ?? '',
    dataDir,
    output: () => output,
    stop: async () => {
      await stopChild(child);
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function waitForUrl(child: ChildProcess, output: () => string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = URL_PATTERN.exec(output());
      if (m) finish(null, m[0]);
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(new Error(`hintbrush serve exited (${signal ?? code}) before printing its URL:\n${output()}`));
    const timer = setTimeout(
      () => finish(new Error(`hintbrush serve printed no URL within ${timeoutMs} ms:\n${output()}`)),
      timeoutMs,
    );
    const finish = (err: Error | null, url?: string) => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(url!);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.on('exit', onExit);
    check();
  });
}

/** SIGTERM, then SIGKILL if the server has not exited within five seconds. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
