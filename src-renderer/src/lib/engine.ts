// Words and tones for the engine's state and execution providers (engine.test.ts).
import type { EngineState, EngineStatus, ProviderReport } from '../../../src-main/common/contract.ts';

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
