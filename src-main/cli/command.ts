// The shape of one `hintbrush` subcommand and the helpers they share. A new subcommand is one object of
// type CliCommand in its own file under commands/, listed in COMMANDS (hintbrush.ts).

import type { JobInfo } from '../common/contract.ts';
import type { Services } from '../app/bootstrap.ts';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress lines are redrawn in place). */
  isTty: boolean;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder shown in help, e.g. 'DIR'. */
  value?: string;
  description: string;
  /** May be given several times; its value is then a list. */
  multiple?: boolean;
}

export interface CommandArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  io: CliIo;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
}

export interface CliCommand {
  /** The words that name it: 'serve', 'library add'. */
  name: string;
  summary: string;
  /** What follows the name in the usage line, e.g. 'PATH... [--data DIR]'. */
  usage: string;
  options: Record<string, OptionSpec>;
  positionals: { min: number; max: number };
  /** Lines the command's help shows after its options (computed when shown: they may name this machine's folders). */
  helpNotes?(): string[];
  /** Resolves with the exit code. */
  run(args: CommandArgs): Promise<number>;
}

/** A wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly kind = 'usage';
}

export const DATA_OPTION: OptionSpec = { type: 'string', value: 'DIR', description: 'data folder (default: $HINTBRUSH_DATA or the app data folder)' };
export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print JSON instead of a table' };

/** Reads an integer option; undefined when absent. */
export function intOption(value: string | boolean | string[] | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return n;
}

/** Prints rows as aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

/**
 * Waits for a job, showing its progress on stderr; Ctrl-C cancels it. Resolves with its final record and
 * result.
 */
export async function followJob(
  services: Services,
  jobId: string,
  io: CliIo,
  signal: AbortSignal,
): Promise<{ job: JobInfo; result: unknown }> {
  let lastLine = '';
  let lastAt = 0;
  const show = (job: JobInfo) => {
    const p = job.progress;
    const line = `${job.title}: ${p.total ? `[${p.step}/${p.total}] ` : ''}${p.message}`;
    const now = Date.now();
    if (line === lastLine || (job.state === 'running' && now - lastAt < (io.isTty ? 100 : 1000))) return;
    lastLine = line;
    lastAt = now;
    io.err(io.isTty ? `\r\x1b[2K${line.slice(0, 200)}` : `${line}\n`);
  };
  const off = services.queue.onUpdate(({ job }) => job.id === jobId && show(job));
  const cancel = () => services.queue.cancel(jobId);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    const outcome = await services.queue.wait(jobId);
    if (io.isTty && lastLine) io.err('\n');
    return outcome;
  } finally {
    off();
    signal.removeEventListener('abort', cancel);
  }
}
