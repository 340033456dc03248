// Test support: the engine's message loop run in the test's own process, over a stand-in for Electron's
// process.parentPort (the utilityProcess channel), so a test sends MainToEngine messages and reads what the engine
// answers. Call `engineOnFakePort()` inside a describe(): it installs the port and starts the loop before the
// suite's tests, and takes the port away after them.
import { after, before } from 'node:test';
import { runEngine } from './engine-process.ts';
import type { EngineToMain, MainToEngine } from './protocol.ts';

/** What the engine takes for process.parentPort: records what it posts, hands it what the test sends. */
export class FakeParentPort {
  readonly received: EngineToMain[] = [];
  private listener: ((e: { data: unknown }) => void) | null = null;
  postMessage(m: unknown) {
    this.received.push(m as EngineToMain);
  }
  on(_event: 'message', listener: (e: { data: unknown }) => void) {
    this.listener = listener;
  }
  /** Delivers a message to the engine; malformed ones too, to see them refused. */
  send(m: MainToEngine | Record<string, unknown>) {
    this.listener?.({ data: m });
  }
  /** The first message of `type` (for `jobId`, if given) the engine has posted, waited for up to 5 s. */
  async next<T extends EngineToMain['type']>(type: T, jobId?: string): Promise<Extract<EngineToMain, { type: T }>> {
    for (let i = 0; i < 500; i++) {
      const found = this.received.find((m) => m.type === type && (!jobId || (m as { jobId?: string }).jobId === jobId));
      if (found) return found as Extract<EngineToMain, { type: T }>;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${type} message`);
  }
}

/** Starts the engine loop on a fake parentPort for the enclosing suite (without the provider probe). */
export function engineOnFakePort(): FakeParentPort {
  const port = new FakeParentPort();
  const proc = process as unknown as { parentPort?: unknown };
  before(async () => {
    process.env.HINTBRUSH_ENGINE_SKIP_PROBE = '1';
    proc.parentPort = port;
    await runEngine(); // detects the parentPort, as in a utilityProcess
  });
  after(() => {
    delete proc.parentPort;
    delete process.env.HINTBRUSH_ENGINE_SKIP_PROBE;
  });
  return port;
}
