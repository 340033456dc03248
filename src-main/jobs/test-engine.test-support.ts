// Helpers shared by the tests of jobs/, app/ and server/: a supervisor over a real engine child process
// with short timings, and a polling wait.
import os from 'node:os';
import { nodeEngineLauncher } from './engine-launcher.ts';
import { EngineSupervisor, type SupervisorOptions } from './engine-supervisor.ts';

/** A supervisor whose engine skips the provider probe (fast start) and whose heartbeat is quick. */
export function testSupervisor(extra: Partial<SupervisorOptions> = {}): EngineSupervisor {
  return new EngineSupervisor({
    launcher: nodeEngineLauncher({
      resourcesDir: os.tmpdir(),
      dataDir: os.tmpdir(),
      env: { HINTBRUSH_ENGINE_SKIP_PROBE: '1' },
    }),
    heartbeatMs: 100,
    hangMs: 1_000,
    backoffInitialMs: 50,
    ...extra,
  });
}

/** Resolves once `predicate` holds, polling every 20 ms; rejects after `ms`. */
export function until(predicate: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('condition not met in time'));
      setTimeout(tick, 20);
    };
    tick();
  });
}
