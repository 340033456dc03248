// How main starts the engine process. The supervisor only sees an EngineHandle, so the same supervision
// runs over a Node child process (browser mode, CLI, tests) and an Electron utilityProcess
// (src-main/electron/engine-launcher.ts builds that one).

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ENGINE_ENV } from '../engine/protocol.ts';
import type { MainToEngine } from '../engine/protocol.ts';

export interface EngineExit {
  code: number | null;
  signal: string | null;
}

export interface EngineCallbacks {
  onMessage(message: unknown): void;
  onExit(exit: EngineExit): void;
  /** One line the engine wrote to stdout or stderr. */
  onOutput(line: string): void;
}

export interface EngineHandle {
  readonly pid: number | null;
  send(message: MainToEngine): void;
  /** `hard`: SIGKILL (a hung or stopped process ignores anything softer). */
  kill(hard: boolean): void;
}

export type EngineLauncher = (callbacks: EngineCallbacks) => EngineHandle;

export interface EngineEntry {
  /** The engine-process module to start. */
  entry: string;
  /** Node options for it: tsx's loader when it is a .ts source. */
  execArgv: string[];
}

/**
 * Where the engine entry lies: next to the sources when main runs from .ts files (tsx), or next to the
 * bundle (build/main/engine-process.cjs) when main itself is bundled — import.meta.url then names the bundle.
 */
export function defaultEngineEntry(hereUrl: string = import.meta.url): EngineEntry {
  const here = fileURLToPath(hereUrl);
  if (here.endsWith('.ts')) {
    const tsxLoader = pathToFileURL(createRequire(hereUrl).resolve('tsx')).href;
    return { entry: path.resolve(path.dirname(here), '../engine/engine-process.ts'), execArgv: ['--import', tsxLoader] };
  }
  return { entry: path.join(path.dirname(here), 'engine-process.cjs'), execArgv: [] };
}

/** Environment of the engine process: main's, plus where resources and data lie and the start marker. */
export function engineEnv(dirs: { resourcesDir: string; dataDir: string }, extra: Record<string, string> = {}) {
  return {
    ...process.env,
    ...extra,
    [ENGINE_ENV.marker]: '1',
    [ENGINE_ENV.resourcesDir]: dirs.resourcesDir,
    [ENGINE_ENV.dataDir]: dirs.dataDir,
  } as Record<string, string>;
}

/** Splits a byte stream into lines for the supervisor's log tail. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    if (rest.length > 4096) {
      onLine(rest);
      rest = '';
    }
    for (const line of lines) if (line.trim()) onLine(line.replace(/\r$/, ''));
  };
}

export interface NodeLauncherOptions {
  resourcesDir: string;
  dataDir: string;
  entry?: EngineEntry;
  /** Extra environment (tests set HINTBRUSH_ENGINE_SKIP_PROBE). */
  env?: Record<string, string>;
}

/** Starts the engine with child_process.fork; messages use the 'advanced' (structured clone) serialization. */
export function nodeEngineLauncher(options: NodeLauncherOptions): EngineLauncher {
  const { entry, execArgv } = options.entry ?? defaultEngineEntry();
  if (!existsSync(entry)) throw new Error(`engine entry not found: ${entry} (run \`npm run build\`?)`);
  return (callbacks) => {
    const child = fork(entry, [], {
      execArgv,
      env: engineEnv(options, options.env),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const toLines = lineSplitter(callbacks.onOutput);
    child.stdout?.on('data', toLines);
    child.stderr?.on('data', toLines);
    child.on('message', (m) => callbacks.onMessage(m));
    let exited = false;
    const exit = (e: EngineExit) => {
      if (exited) return;
      exited = true;
      callbacks.onExit(e);
    };
    child.on('exit', (code, signal) => exit({ code, signal }));
    child.on('error', (err) => {
      callbacks.onOutput(`engine process error: ${err.message}`);
      if (child.exitCode === null && child.pid === undefined) exit({ code: null, signal: null });
    });
    return {
      get pid() {
        return child.pid ?? null;
      },
      send(message) {
        // A send racing the child's death is harmless: the exit handler fails the job.
        if (child.connected) child.send(message, (err) => err && callbacks.onOutput(`send failed: ${err.message}`));
      },
      kill(hard) {
        if (child.exitCode === null && child.signalCode === null) child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      },
    };
  };
}
