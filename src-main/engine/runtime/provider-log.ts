// Why a GPU provider failed, in onnxruntime's own words. onnxruntime-node hands JS only a summary
// ("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library"); the cause, e.g. which
// library the dynamic loader could not find, goes to ORT's log on stderr, which a process cannot read of itself.
// So the probe repeats the failing session creation in a short-lived child with ORT's log on and reads the
// child's stderr. The child is Node itself, or Electron run as Node (ELECTRON_RUN_AS_NODE, which is why the
// packaged app keeps the runAsNode fuse on: electron-builder.yml).
//
// Lifecycle: each call starts one child and kills it after `timeoutMs` at the latest. The child costs about half a
// second, so the engine captures only when a diagnosis is shown (a probe), once per provider and device for the
// life of the engine process (`cachedProviderFailure`): a plain engine start never waits for one.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tinyModel } from './probe-model.ts';

export interface ProviderFailure {
  /** The error message JS got from InferenceSession.create. */
  message: string;
  /** What ORT logged on stderr meanwhile, colour codes removed. */
  log: string;
}

export interface CaptureOptions {
  /** onnxruntime-node's entry file; defaults to the one this engine loads. */
  ortEntry?: string;
  /** For CUDA and DirectML: the device to open. */
  deviceId?: number;
  /** Extra environment for the child (tests point LD_LIBRARY_PATH at stand-in libraries). */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

// Runs in the child (node -e): argv = [entry, provider, deviceId or '', model as base64].
const CHILD_SOURCE = `
const [entry, provider, deviceId, model] = process.argv.slice(1);
const ort = require(entry);
ort.env.logLevel = 'warning';
const ep = deviceId === '' ? provider : { name: provider, deviceId: Number(deviceId) };
ort.InferenceSession.create(Buffer.from(model, 'base64'), { executionProviders: [ep], logSeverityLevel: 2 }).then(
  (s) => { process.stdout.write(JSON.stringify({ ok: true })); return s.release(); },
  (e) => { process.stdout.write(JSON.stringify({ ok: false, message: String((e && e.message) || e) })); },
);
`;

/** ANSI colour sequences ORT wraps its error lines in. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Creates a one-node session on `provider` in a child process and returns what failed, or null when the
 * session worked there. Never throws: a child that cannot start gives its own reason as the message.
 */
export function captureProviderFailure(provider: string, opts: CaptureOptions = {}): Promise<ProviderFailure | null> {
  const entry = opts.ortEntry ?? createRequire(import.meta.url).resolve('onnxruntime-node');
  const args = ['-e', CHILD_SOURCE, entry, provider, opts.deviceId === undefined ? '' : String(opts.deviceId), Buffer.from(tinyModel()).toString('base64')];
  const env = { ...process.env, ...opts.env, ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}) };
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ message: `could not start a process to diagnose ${provider}: ${err.message}`, log: '' });
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const log = stderr.replace(ANSI, '').trim();
      try {
        const result = JSON.parse(stdout) as { ok: boolean; message?: string };
        resolve(result.ok ? null : { message: result.message ?? '', log });
      } catch {
        resolve({ message: `the ${provider} provider stopped its test process (${sig ?? `exit code ${code}`})`, log });
      }
    });
  });
}

// Keyed by provider and device: the libraries and drivers one engine process sees do not change while it runs.
const captured = new Map<string, Promise<ProviderFailure | null>>();

/** `captureProviderFailure` with this engine's onnxruntime, run once per provider and device per process. */
export function cachedProviderFailure(provider: string, deviceId?: number): Promise<ProviderFailure | null> {
  const key = `${provider}:${deviceId ?? ''}`;
  let failure = captured.get(key);
  if (!failure) {
    failure = captureProviderFailure(provider, { deviceId });
    captured.set(key, failure);
  }
  return failure;
}
