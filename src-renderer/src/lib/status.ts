// What the status bar and the top bar say about the engine and the job queue: words, tones and ordering.
// Pure, tested in status.test.ts.
import type { EngineState, EngineStatus, JobInfo, ProviderReport } from '../../../src-main/common/contract.ts';

// ---- engine -------------------------------------------------------------------------------------------
const PROVIDER_LABELS: Record<string, string> = {
  cuda: 'CUDA',
  tensorrt: 'TensorRT',
  dml: 'DirectML',
  coreml: 'Core ML',
  webgpu: 'WebGPU',
  rocm: 'ROCm',
  cpu: 'CPU',
};

export function providerLabel(name: string): string {
  return PROVIDER_LABELS[name.toLowerCase()] ?? (name ? name.toUpperCase() : '—');
}

export type Tone = 'ok' | 'busy' | 'warn' | 'error' | 'idle';

const STATE_WORDS: Record<EngineState, { label: string; tone: Tone }> = {
  starting: { label: 'Starting', tone: 'warn' },
  ready: { label: 'Ready', tone: 'ok' },
  busy: { label: 'Working', tone: 'busy' },
  crashed: { label: 'Crashed', tone: 'error' },
  restarting: { label: 'Restarting', tone: 'warn' },
  stopped: { label: 'Stopped', tone: 'idle' },
};

export function engineStateWords(state: EngineState | string): { label: string; tone: Tone } {
  return STATE_WORDS[state as EngineState] ?? { label: state, tone: 'idle' };
}

/** Providers in the order to show them: the one in use first, then available ones, then the rest. */
export function orderedProviders(status: EngineStatus): ProviderReport[] {
  const rank = (p: ProviderReport) => (p.name === status.provider ? 0 : p.available ? 1 : 2);
  return [...status.providers].sort((a, b) => rank(a) - rank(b));
}

/** One line for a provider: "in use", "available", or why not. */
export function providerNote(p: ProviderReport, inUse: string): string {
  if (p.name === inUse) return p.available ? 'in use' : `in use: ${p.reason || 'reported unavailable'}`;
  if (p.available) return 'available';
  return p.reason || 'unavailable';
}

/** Short summary for the status bar: "Ready · CPU" or "Crashed: <error>". */
export function engineSummary(status: EngineStatus | null): string {
  if (!status) return 'Engine…';
  const words = engineStateWords(status.state);
  if (status.state === 'crashed' && status.lastError) return `Engine crashed`;
  return `Engine ${words.label.toLowerCase()} · ${providerLabel(status.provider)}`;
}

// ---- jobs ---------------------------------------------------------------------------------------------

export function isActiveJob(job: JobInfo): boolean {
  return job.state === 'queued' || job.state === 'running';
}

/** Running before queued, then newest first; finished jobs by finish time, newest first. */
export function newestFirst(a: JobInfo, b: JobInfo): number {
  const rank = (j: JobInfo) => (j.state === 'running' ? 0 : j.state === 'queued' ? 1 : 2);
  const byRank = rank(a) - rank(b);
  if (byRank !== 0) return byRank;
  const time = (j: JobInfo) => Date.parse(j.finishedAt ?? j.createdAt) || 0;
  return time(b) - time(a);
}

/**
 * The newer of two reports of the same job. Events and `jobs.list` answers can cross on the wire; a finished
 * job never goes back to running, and progress never moves backwards within the same state.
 */
export function mergeJob(previous: JobInfo | undefined, next: JobInfo): JobInfo {
  if (!previous) return next;
  if (!isActiveJob(previous) && isActiveJob(next)) return previous;
  if (previous.state === next.state && next.progress.step < previous.progress.step) return previous;
  return next;
}

/** The job the status bar shows: the first running one, else the first queued one. */
export function headlineJob(jobs: readonly JobInfo[]): JobInfo | null {
  return jobs.find((j) => j.state === 'running') ?? jobs.find((j) => j.state === 'queued') ?? null;
}

/** "12 / 40 files" style text, or the bare message while the total is unknown. */
export function jobProgressText(job: JobInfo): string {
  const { step, total, message } = job.progress;
  const count = total > 0 ? `${step} / ${total}` : '';
  return [count, message].filter((s) => s.length > 0).join(' · ');
}
