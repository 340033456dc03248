// Entry of the engine process: the process that builds graphs and runs onnxruntime, apart from main so a
// native crash, an out-of-memory or a hang never takes the app down (main's EngineSupervisor restarts it).
// It runs as an Electron utilityProcess (messages through process.parentPort) or as a Node child process
// (process.send); `connectToMain` detects which.
//
// Tasks plug in through `registerTask(name, handler)`: a handler module exports a `TaskHandler` (types in
// ./protocol.ts, so it never imports this entry) and one line at the bottom of this file registers it.
// Main starts a job for it with `jobQueue.enqueueEngine({ kind, title, task: name, payload })`.

import { createRequire } from 'node:module';
import type { ProviderReport } from '../common/contract.ts';
import {
  ENGINE_ENV,
  TaskError,
  errorInfoOf,
  isMainToEngine,
  type EngineToMain,
  type MainToEngine,
  type TaskContext,
  type TaskHandler,
} from './protocol.ts';
import { DEVICE_PROVIDERS, PROVIDER_CHOICES, type ProviderChoice, type ProviderSetting } from '../common/provider-setting.ts';
import { tinyModel } from './runtime/probe-model.ts';
import { providerEntry, setProviderDevice } from './runtime/session.ts';
import { diagnoseProvider } from './runtime/provider-diagnosis.ts';
import { cachedProviderFailure } from './runtime/provider-log.ts';
import { configureOptimizedModelCache } from './runtime/optimized-model-cache.ts';
import { annotateTask } from './tasks/annotate-task.ts';
import { generateTask } from './tasks/generate-task.ts';
import { trainTask } from './tasks/train-task.ts';

const tasks = new Map<string, TaskHandler>();

/** Registers a task the engine can run; a second registration of the same name is a programming error. */
export function registerTask(name: string, handler: TaskHandler): void {
  if (tasks.has(name)) throw new Error(`engine task '${name}' is registered twice`);
  tasks.set(name, handler);
}

// ---- providers ------------------------------------------------------------------------------------

type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | null = null;
function loadOrt(): Ort {
  ortModule ??= createRequire(import.meta.url)('onnxruntime-node') as Ort;
  return ortModule;
}

// Best first. WebGPU in Node is experimental and slow to start: it is probed and reported, but only chosen
// when asked for with HINTBRUSH_PROVIDER=webgpu.
const PREFERENCE = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];
const PLATFORM_PROVIDERS: Record<string, string[]> = {
  linux: ['cuda', 'webgpu', 'cpu'],
  win32: ['cuda', 'dml', 'webgpu', 'cpu'],
  darwin: ['coreml', 'webgpu', 'cpu'],
};

/**
 * Which providers exist here: listed by onnxruntime-node and able to create and run a tiny session. With
 * `diagnose` (a probe), each failing provider's cause is read from ORT's own log in a child process (cached per
 * engine process); without (engine start), only ORT's one-line summary is used, so generation is not delayed.
 */
export async function probeProviders({ diagnose = true }: { diagnose?: boolean } = {}): Promise<ProviderReport[]> {
  let ort: Ort;
  try {
    ort = loadOrt();
  } catch (err) {
    const reason = `onnxruntime-node could not be loaded: ${(err as Error).message}`;
    return ['cpu'].map((name) => ({ name, available: false, reason }));
  }
  ort.env.logLevel = 'fatal'; // a failing provider is expected here; its native log lines are noise
  const listed = new Map(ort.listSupportedBackends().map((b) => [b.name as string, b.bundled]));
  const names = [...new Set([...(PLATFORM_PROVIDERS[process.platform] ?? ['cpu']), ...listed.keys()])];
  const model = tinyModel();
  const reports: ProviderReport[] = [];
  for (const name of names) {
    if (!listed.has(name)) {
      reports.push({ name, available: false, reason: `this onnxruntime-node build (${process.platform}) has no ${name} provider` });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [providerEntry(name) as 'cpu'],
        logSeverityLevel: 4,
      });
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-2]), [1]) });
      await session.release();
      const y = out.y?.data as Float32Array | undefined;
      if (!y || y[0] !== 0) throw new Error('the tiny test model gave a wrong answer');
      reports.push({ name, available: true, reason: '' });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      if (!diagnose) {
        const { reason, fix } = diagnoseProvider(name, message);
        reports.push({ name, available: false, reason, fix, diagnosed: false });
        continue;
      }
      // The JS message is a summary; ORT's log names the cause (which library, which CUDA error).
      const entry = providerEntry(name);
      const deviceId = typeof entry === 'string' ? undefined : entry.deviceId;
      const failure = (await cachedProviderFailure(name, deviceId)) ?? { message, log: '' };
      const { reason, fix } = diagnoseProvider(name, message, failure.log);
      reports.push({ name, available: false, reason, fix });
    }
  }
  return reports.sort((a, b) => rank(a.name) - rank(b.name));
}

const rank = (name: string) => (PREFERENCE.includes(name) ? PREFERENCE.indexOf(name) : PREFERENCE.length);

/** The provider tasks use: HINTBRUSH_PROVIDER when available, else the best available (webgpu only if asked). */
export function chooseProvider(reports: ProviderReport[], wanted = process.env[ENGINE_ENV.provider]): string {
  const available = reports.filter((r) => r.available).map((r) => r.name);
  if (wanted && available.includes(wanted)) return wanted;
  return available.filter((n) => n !== 'webgpu').sort((a, b) => rank(a) - rank(b))[0] ?? 'cpu';
}

// ---- built-in tasks -------------------------------------------------------------------------------

let providerReports: ProviderReport[] = [];
let provider = 'cpu';
/** The artist's choice from main ('configure'); null until it arrives: HINTBRUSH_PROVIDER or the best. */
let preference: ProviderSetting | null = null;

function wantedProvider(): string | undefined {
  return preference && preference.provider !== 'auto' ? preference.provider : process.env[ENGINE_ENV.provider];
}

/** Takes the artist's choice: the device for CUDA and DirectML, and the provider tasks use from now on. */
export function configureProvider(choice: ProviderSetting): string {
  preference = choice;
  const deviceId = DEVICE_PROVIDERS.includes(choice.provider) ? choice.deviceId : undefined;
  setProviderDevice('cuda', deviceId);
  setProviderDevice('dml', deviceId);
  provider = chooseProvider(providerReports, wantedProvider());
  return provider;
}

registerTask('probe', async () => {
  providerReports = await probeProviders();
  provider = chooseProvider(providerReports, wantedProvider());
  return { provider, providers: providerReports };
});

/** Waits `ms`, or rejects at once when the signal aborts. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// Steps N times with progress and honours cancel between steps: keeps a job in flight for tests and
// shows the shape every long task follows.
registerTask('sleep', async (payload, ctx) => {
  const p = (payload ?? {}) as { steps?: unknown; stepMs?: unknown };
  const steps = p.steps ?? 10;
  const stepMs = p.stepMs ?? 100;
  if (!Number.isSafeInteger(steps) || (steps as number) < 1 || (steps as number) > 100_000) {
    throw new TaskError('bad-request', 'sleep: steps must be an integer from 1 to 100000');
  }
  if (typeof stepMs !== 'number' || !(stepMs >= 0 && stepMs <= 60_000)) {
    throw new TaskError('bad-request', 'sleep: stepMs must be a number of milliseconds from 0 to 60000');
  }
  for (let step = 1; step <= (steps as number); step++) {
    await wait(stepMs, ctx.signal);
    ctx.progress({ step, total: steps as number, message: `step ${step} of ${steps}` });
  }
  return { steps, pid: process.pid };
});

// Tasks of later work register here.
registerTask('generate', generateTask);
registerTask('annotate', annotateTask);
registerTask('train', trainTask);

// ---- message loop ---------------------------------------------------------------------------------

interface MainPort {
  send(message: EngineToMain): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

/** Electron utilityProcess exposes process.parentPort; a Node fork has process.send. */
function connectToMain(): MainPort {
  const parentPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (parentPort) {
    return { send: (m) => parentPort.postMessage(m), onMessage: (l) => parentPort.on('message', (e) => l(e.data)) };
  }
  if (typeof process.send === 'function') {
    // Main gone (crashed or killed without a goodbye): an orphan engine would hold the GPU, so leave.
    process.on('disconnect', () => process.exit(0));
    return { send: (m) => process.send?.(m), onMessage: (l) => process.on('message', l) };
  }
  throw new Error('engine-process: no channel to main (start it with utilityProcess.fork or child_process.fork)');
}

export async function runEngine(port: MainPort = connectToMain()): Promise<void> {
  const resourcesDir = process.env[ENGINE_ENV.resourcesDir] ?? '';
  const dataDir = process.env[ENGINE_ENV.dataDir] ?? '';
  configureOptimizedModelCache(dataDir);
  let current: { jobId: string; abort: AbortController } | null = null;
  let pendingChoice: ProviderSetting | null = null;
  const applyChoice = (choice: ProviderSetting) => {
    pendingChoice = null;
    configureProvider(choice);
    port.send({ type: 'ready', pid: process.pid, provider, providers: providerReports, tasks: [...tasks.keys()] });
  };

  const run = async (msg: Extract<MainToEngine, { type: 'run' }>) => {
    const handler = tasks.get(msg.task);
    if (!handler) {
      return port.send({ type: 'error', jobId: msg.jobId, kind: 'unknown-task', message: `The engine has no task '${msg.task}'.` });
    }
    if (current) {
      return port.send({ type: 'error', jobId: msg.jobId, kind: 'busy', message: `The engine is running job ${current.jobId}.` });
    }
    const abort = new AbortController();
    current = { jobId: msg.jobId, abort };
    const ctx: TaskContext = {
      jobId: msg.jobId,
      signal: abort.signal,
      provider,
      resourcesDir,
      dataDir,
      progress: (p) => {
        if (!abort.signal.aborted) port.send({ type: 'progress', jobId: msg.jobId, ...p });
      },
    };
    try {
      const result = await handler(msg.payload, ctx);
      if (abort.signal.aborted) throw abort.signal.reason;
      port.send({ type: 'result', jobId: msg.jobId, result });
    } catch (err) {
      port.send({ type: 'error', jobId: msg.jobId, ...errorInfoOf(err, abort.signal) });
    } finally {
      current = null;
      if (pendingChoice) applyChoice(pendingChoice);
    }
  };

  // Pings are answered even while a task runs: a task must never block the event loop for long (long
  // native work is async in onnxruntime-node), or the supervisor counts it as a hang.
  port.onMessage((message) => {
    if (!isMainToEngine(message)) return; // not ours; main's supervisor never sends such a thing
    if (message.type === 'ping') port.send({ type: 'pong', seq: message.seq });
    else if (message.type === 'configure') {
      const choice = { provider: message.provider as ProviderChoice, deviceId: message.deviceId };
      if (!(PROVIDER_CHOICES as readonly string[]).includes(choice.provider)) return;
      // A job in flight keeps its provider and GPU to the end (it may still create sessions); the next job
      // gets the new choice.
      if (current) pendingChoice = choice;
      else applyChoice(choice);
    }
    else if (message.type === 'cancel') {
      if (current?.jobId === message.jobId) current.abort.abort(new TaskError('cancelled', 'The job was cancelled.'));
    } else void run(message);
  });

  if (process.env[ENGINE_ENV.skipProbe] !== '1') {
    providerReports = await probeProviders({ diagnose: false });
    provider = chooseProvider(providerReports);
  } else {
    providerReports = [{ name: 'cpu', available: true, reason: '' }];
  }
  port.send({ type: 'ready', pid: process.pid, provider, providers: providerReports, tasks: [...tasks.keys()] });
}

// Started by main (the supervisor sets the marker); imported anywhere else, e.g. by a test, nothing runs.
if (process.env[ENGINE_ENV.marker] === '1') {
  runEngine().catch((err) => {
    console.error('engine-process failed to start:', err);
    process.exit(1);
  });
}
