// The set-up the service tests share: main's services wired as the app wires them, the engine in a child process,
// over a fresh temporary folder whose models folder (tiny fixtures, and whatever a test writes beside them) is
// already scanned into the library. Also the error kind a call fails with, as the IPC boundary reports it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Events, LibraryItem } from '../common/contract.ts';
import { toErrorInfo } from '../common/errors.ts';
import { fixture } from '../engine/goldens.test-support.ts';
import { nodeEngineLauncher } from '../jobs/engine-launcher.ts';
import { createServices, type ServicesOptions, type Services } from './bootstrap.ts';

/** The error kind a call fails with ('no error' when it does not fail). */
export async function errorKindOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return toErrorInfo(err).kind;
  }
  return 'no error';
}

/** A `listen` that records every generation's progress and finished events, in order, into the given lists. */
export function recordGenerateEvents(progress: Events['generate.progress'][], finished: Events['generate.finished'][]): (services: Services) => void {
  return (services) => {
    services.events.on('generate.progress', (e) => progress.push(e));
    services.events.on('generate.finished', (e) => finished.push(e));
  };
}

export interface AppServicesOptions {
  /** Names the temporary folder (hintbrush-<name>-XXXXXX), so a folder left behind says which test made it. */
  name: string;
  /** Files of test/fixtures/sd15-tiny copied into the models folder. */
  fixtures: readonly string[];
  /** Writes more model files into the models folder, before the scan. */
  writeModels?: (modelsDir: string) => void;
  /** Subscribes to the services' events before the scan, so a test sees every event. */
  listen?: (services: Services) => void;
  /** The engine supervisor's timings; a hang is declared after 20 s unless a test needs longer. */
  supervisor?: ServicesOptions['supervisor'];
  /** How many library items the scan must find; asserted when given. */
  expectItems?: number;
}

/** Services over a temporary folder with its models scanned. The caller owns them: `dispose()` stops the engine and removes the folder. */
export interface AppServices {
  tmp: string;
  dataDir: string;
  modelsDir: string;
  services: Services;
  /** The library after the scan. */
  items: LibraryItem[];
  dispose(): Promise<void>;
}

export async function startAppServices(options: AppServicesOptions): Promise<AppServices> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `hintbrush-${options.name}-`));
  const dataDir = path.join(tmp, 'data');
  const modelsDir = path.join(tmp, 'models');
  mkdirSync(modelsDir);
  for (const f of options.fixtures) copyFileSync(fixture(f), path.join(modelsDir, f));
  options.writeModels?.(modelsDir);
  const services = createServices({
    dataDir,
    resourcesDir: tmp,
    engineLauncher: nodeEngineLauncher({ dataDir, resourcesDir: tmp, env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1' } }),
    supervisor: options.supervisor ?? { heartbeatMs: 200, hangMs: 20_000, backoffInitialMs: 50 },
  });
  options.listen?.(services);
  const { jobId } = await services.call('library.add', { paths: [modelsDir] });
  await services.queue.wait(jobId);
  const items = await services.call('library.list', {});
  if (options.expectItems !== undefined) assert.equal(items.length, options.expectItems);
  return {
    tmp,
    dataDir,
    modelsDir,
    services,
    items,
    dispose: async () => {
      await services.dispose();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
