// Keeps one engine process alive for main: starts it, pings it, and when it exits or stops answering
// (a hang counts as a crash) fails the job in flight with kind 'engine-crashed', restarts it with
// exponential backoff and counts the restarts. Main runs engine tasks only through `run`.

import type { ProviderSetting } from '../common/provider-setting.ts';
import type { EngineState, EngineStatus, ErrorInfo, ProviderReport } from '../common/contract.ts';
import type { ErrorKind } from '../common/errors.ts';
import { isEngineToMain, type EngineToMain, type TaskProgress } from '../engine/protocol.ts';
import type { EngineExit, EngineHandle, EngineLauncher } from './engine-launcher.ts';

export interface SupervisorOptions {
  launcher: EngineLauncher;
  /** How often main pings the engine. */
  heartbeatMs?: number;
  /** Silence (no pong, no message) this long after `ready` counts as a hang while the engine is idle. */
  hangMs?: number;
  /**
   * The same while a job runs. onnxruntime's run() blocks the engine's thread, so one full-size UNet or VAE
   * evaluation on a CPU (tens of seconds) leaves pings unanswered without anything being wrong.
   */
  busyHangMs?: number;
  /** The engine must say `ready` within this long of its start (the provider probe loads native code). */
  startTimeoutMs?: number;
  /** A cancelled job must end within this long, or the engine is treated as hung. */
  cancelGraceMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Alive this long after `ready`: the next crash starts the backoff afresh. */
  stableMs?: number;
  /** Every line the engine writes (the last few are kept for crash messages anyway). */
  onOutput?: (line: string) => void;
  /**
   * The artist's provider choice, read whenever an engine process becomes ready: it gets the choice before
   * its first job (messages arrive in order), so a restarted engine never runs a job on the default.
   */
  providerChoice?: () => ProviderSetting;
}

/** An engine job's failure, with the contract's error kind. */
export class EngineJobError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
  info(): ErrorInfo {
    return { kind: this.kind, message: this.message };
  }
}

export interface RunOptions {
  onProgress?: (p: TaskProgress) => void;
  signal?: AbortSignal;
}

interface InFlight {
  jobId: string;
  task: string;
  payload: unknown;
  options: RunOptions;
  sent: boolean;
  resolve(result: unknown): void;
  reject(err: EngineJobError): void;
  cancelTimer?: NodeJS.Timeout;
  offAbort?: () => void;
}

const TAIL_LINES = 12;

export class EngineSupervisor {
  private readonly opts: Required<Omit<SupervisorOptions, 'onOutput' | 'providerChoice'>> & Pick<SupervisorOptions, 'onOutput' | 'providerChoice'>;
  /** The choice sent to the current engine process (JSON), '' before any. */
  private sentChoice = '';
  private child: EngineHandle | null = null;
  private generation = 0;
  private state: EngineState = 'stopped';
  private provider = '';
  private providers: ProviderReport[] = [];
  private tasks: string[] = [];
  private restarts = 0;
  private failuresInRow = 0;
  private lastError = '';
  private startedAt = 0;
  private readyAt = 0;
  private lastSeen = 0;
  private pingSeq = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private job: InFlight | null = null;
  private readonly tail: string[] = [];
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  private stopping = false;

  constructor(options: SupervisorOptions) {
    this.opts = {
      heartbeatMs: 2_000,
      hangMs: 30_000,
      busyHangMs: 15 * 60_000,
      startTimeoutMs: 120_000,
      cancelGraceMs: 15_000,
      backoffInitialMs: 500,
      backoffMaxMs: 30_000,
      stableMs: 60_000,
      ...options,
    };
  }

  status(): EngineStatus {
    return {
      state: this.state,
      provider: this.provider,
      providers: this.providers.map((p) => ({ ...p })),
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      lastError: this.lastError,
    };
  }

  /** Names of the tasks the running engine registered (empty before its first `ready`). */
  taskNames(): string[] {
    return [...this.tasks];
  }

  /** Takes a fresh provider report (the result of a 'probe' task) into the status. */
  noteProviders(report: { provider: string; providers: ProviderReport[] }): void {
    this.provider = report.provider;
    this.providers = report.providers;
    this.emit();
  }

  /** Sends the provider choice again (the setting changed); the engine answers with a new `ready`. */
  applyProviderChoice(): void {
    this.sendProviderChoice();
  }

  private sendProviderChoice(): void {
    const choice = this.opts.providerChoice?.();
    if (!choice || !this.child || (this.state !== 'ready' && this.state !== 'busy')) return;
    const key = JSON.stringify(choice);
    if (key === this.sentChoice) return;
    this.sentChoice = key;
    this.child.send({ type: 'configure', provider: choice.provider, deviceId: choice.deviceId });
  }

  /**
   * Fused graphs a provider refused (a generation's `fallbacks`), shown with the providers as a skipped provider
   * is: the provider runs, with the plain graph.
   */
  noteFallbacks(lines: readonly string[]): void {
    const fresh = lines.filter((reason) => !this.providers.some((p) => p.reason === reason));
    if (fresh.length === 0) return;
    this.providers = [...this.providers, ...fresh.map((reason) => ({ name: reason.split(':')[0], available: true, reason }))];
    this.emit();
  }

  onStatus(listener: (s: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.child || this.restartTimer) return;
    this.stopping = false;
    this.spawn();
  }

  /** Resolves when the engine is ready (at once if it is). */
  whenReady(): Promise<void> {
    if (this.state === 'ready' || this.state === 'busy') return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onStatus((s) => {
        if (s.state === 'ready' || s.state === 'busy') {
          off();
          resolve();
        }
      });
    });
  }

  /**
   * Runs one task in the engine; one at a time (the job queue serialises them). Waits for the engine to be
   * ready; rejects with EngineJobError: 'cancelled', 'engine-crashed', or the task's own kind.
   */
  run(jobId: string, task: string, payload: unknown, options: RunOptions = {}): Promise<unknown> {
    if (this.job) return Promise.reject(new Error(`engine supervisor: job ${this.job.jobId} is still in flight`));
    if (this.stopping || this.state === 'stopped') {
      return Promise.reject(new EngineJobError('engine-stopped', 'The engine is stopped.'));
    }
    return new Promise((resolve, reject) => {
      const job: InFlight = { jobId, task, payload, options, sent: false, resolve, reject };
      this.job = job;
      const signal = options.signal;
      if (signal) {
        const onAbort = () => this.cancel(job);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        job.offAbort = () => signal.removeEventListener('abort', onAbort);
      }
      this.dispatch();
    });
  }

  /** Stops the engine for good (app quit); a job in flight fails with 'engine-stopped'. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.finish(new EngineJobError('engine-stopped', 'The engine was stopped because the app is closing.'));
    const child = this.child;
    this.detach();
    this.setState('stopped');
    if (!child) return;
    child.kill(false);
    const hard = setTimeout(() => child.kill(true), 2_000);
    hard.unref();
  }

  // ---- internals ------------------------------------------------------------------------------------

  private spawn(): void {
    const generation = ++this.generation;
    this.tail.length = 0;
    this.startedAt = this.lastSeen = Date.now();
    this.readyAt = 0;
    this.sentChoice = '';
    this.setState('starting');
    try {
      this.child = this.opts.launcher({
        onMessage: (m) => generation === this.generation && this.onMessage(m),
        onExit: (e) => generation === this.generation && this.crashed(this.exitReason(e)),
        onOutput: (line) => {
          if (generation !== this.generation) return;
          this.tail.push(line);
          if (this.tail.length > TAIL_LINES) this.tail.shift();
          this.opts.onOutput?.(line);
        },
      });
    } catch (err) {
      this.child = null;
      this.crashed(`The engine process could not be started: ${(err as Error).message}`);
      return;
    }
    this.heartbeat = setInterval(() => this.beat(), this.opts.heartbeatMs);
    this.heartbeat.unref();
    this.emit();
  }

  private beat(): void {
    const now = Date.now();
    if (this.state === 'starting') {
      if (now - this.startedAt > this.opts.startTimeoutMs) {
        this.hung(`The engine did not become ready within ${Math.round(this.opts.startTimeoutMs / 1000)} s.`);
      }
    } else if (now - this.lastSeen > (this.job ? Math.max(this.opts.busyHangMs, this.opts.hangMs) : this.opts.hangMs)) {
      this.hung(`The engine stopped answering for ${Math.round((now - this.lastSeen) / 1000)} s (hung).`);
      return;
    }
    this.child?.send({ type: 'ping', seq: ++this.pingSeq });
  }

  private onMessage(raw: unknown): void {
    if (!isEngineToMain(raw)) {
      this.tail.push(`unexpected message from the engine: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    this.lastSeen = Date.now();
    const m: EngineToMain = raw;
    switch (m.type) {
      case 'ready':
        this.readyAt = Date.now();
        this.provider = m.provider;
        this.providers = m.providers;
        this.tasks = m.tasks;
        this.setState(this.job ? 'busy' : 'ready');
        this.sendProviderChoice(); // before the job: the engine handles messages in order
        this.dispatch();
        return;
      case 'pong':
        return;
      case 'progress':
        if (this.job?.jobId === m.jobId && this.job.sent) {
          const { step, total, message, preview } = m;
          this.job.options.onProgress?.(preview ? { step, total, message, preview } : { step, total, message });
        }
        return;
      case 'result':
        if (this.job?.jobId === m.jobId) this.finish(null, m.result);
        return;
      case 'error':
        if (this.job?.jobId === m.jobId) this.finish(new EngineJobError(m.kind, m.message));
        return;
    }
  }

  private dispatch(): void {
    const job = this.job;
    if (!job || job.sent || !this.child || (this.state !== 'ready' && this.state !== 'busy')) return;
    job.sent = true;
    this.setState('busy');
    this.child.send({ type: 'run', jobId: job.jobId, task: job.task, payload: job.payload });
  }

  private cancel(job: InFlight): void {
    if (this.job !== job) return;
    if (!job.sent) return this.finish(new EngineJobError('cancelled', 'The job was cancelled.'));
    this.child?.send({ type: 'cancel', jobId: job.jobId });
    // The task checks its signal between steps; one that does not end in time is stuck, not slow.
    job.cancelTimer = setTimeout(() => {
      if (this.job !== job) return;
      this.finish(new EngineJobError('cancelled', 'The job was cancelled (the engine was restarted to stop it).'));
      this.hung(`The engine did not stop a cancelled job within ${Math.round(this.opts.cancelGraceMs / 1000)} s.`);
    }, this.opts.cancelGraceMs);
  }

  /** Ends the job in flight with an error, or with a result when `err` is null. */
  private finish(err: EngineJobError | null, result?: unknown): void {
    const job = this.job;
    if (!job) return;
    this.job = null;
    if (job.cancelTimer) clearTimeout(job.cancelTimer);
    job.offAbort?.();
    if (this.state === 'busy') this.setState('ready');
    // A job the user cancelled ends as cancelled even if the engine reported another failure on the way.
    if (err && job.options.signal?.aborted && err.kind !== 'engine-crashed') {
      err = new EngineJobError('cancelled', 'The job was cancelled.');
    }
    if (err) job.reject(err);
    else job.resolve(result);
  }

  private hung(reason: string): void {
    const child = this.child;
    this.crashed(reason);
    child?.kill(true);
  }

  private exitReason(e: EngineExit): string {
    if (e.signal) return `The engine process was killed (${e.signal}).`;
    return `The engine process exited with code ${e.code ?? 'unknown'}.`;
  }

  private crashed(reason: string): void {
    if (this.stopping) return;
    const tail = this.tail.slice(-4).join(' | ');
    this.lastError = tail ? `${reason} Last output: ${tail}` : reason;
    // The dead child is forgotten before the job fails: finishing a job moves 'busy' to 'ready', and a status
    // saying 'ready' with the dead pid must never be seen, not even for a moment.
    this.detach();
    this.setState('crashed');
    if (this.job?.sent) {
      this.finish(new EngineJobError('engine-crashed', `${reason} The job was lost; the engine is being restarted.`));
    }
    if (this.readyAt && Date.now() - this.readyAt > this.opts.stableMs) this.failuresInRow = 0;
    this.failuresInRow++;
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** (this.failuresInRow - 1));
    this.setState('restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.restarts++;
      this.spawn();
    }, delay);
  }

  /** Forgets the current child: its late messages and exit are ignored from now on. */
  private detach(): void {
    this.generation++;
    this.child = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private setState(state: EngineState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit();
  }

  private emit(): void {
    const s = this.status();
    for (const l of this.listeners) l(s);
  }
}
