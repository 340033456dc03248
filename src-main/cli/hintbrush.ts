// The `hintbrush` command (bin/hintbrush.mjs loads this file, or its bundle build/main/hintbrush-cli.mjs).
// Subcommands live in commands/, one CliCommand each; adding one (generate, train) is a file and a line in
// COMMANDS below.

import { parseArgs } from 'node:util';
import { toErrorInfo } from '../common/errors.ts';
import { UsageError, type CliCommand, type CliIo } from './command.ts';
import { libraryAdd, libraryList } from './commands/library.ts';
import { generate } from './commands/generate.ts';
import { probe } from './commands/probe.ts';
import { serve } from './commands/serve.ts';
import { train } from './commands/train.ts';
import { packageRoot } from './paths.ts';
import { cliOrtCacheHelp } from './ort-cache-folder.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const COMMANDS: CliCommand[] = [serve, libraryAdd, libraryList, probe, generate, train];

const defaultIo: CliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  isTty: Boolean(process.stderr.isTTY),
};

function version(): string {
  try {
    return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function commandUsage(c: CliCommand): string {
  const lines = [`Usage: hintbrush ${c.name} ${c.usage}`.trimEnd(), '', `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`];
  const opts = Object.entries(c.options);
  if (opts.length) {
    lines.push('', 'Options:');
    const shown = opts.map(([name, o]) => [`--${name}${o.value ? ` ${o.value}` : ''}`, o.description]);
    const width = Math.max(...shown.map(([flag]) => flag.length));
    for (const [flag, text] of shown) lines.push(`  ${flag.padEnd(width)}  ${text}`);
  }
  const notes = c.helpNotes?.() ?? [];
  if (notes.length) lines.push('', ...notes);
  return `${lines.join('\n')}\n`;
}

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `hintbrush ${version()}: steer Stable Diffusion 1.5 with painted hints, train LoRAs, all on this machine.`,
    '',
    'Usage: hintbrush <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `hintbrush <command> --help` for the options of one command.',
    '',
    cliOrtCacheHelp(),
    '',
  ].join('\n');
}

/** The command named by the leading words of argv (longest name first), and the arguments after it. */
export function findCommand(argv: string[]): { command: CliCommand; rest: string[] } | null {
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of sorted) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, rest: argv.slice(words.length) };
  }
  return null;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo, signal?: AbortSignal): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    const topic = argv[0] === 'help' ? findCommand(argv.slice(1)) : null;
    io.out(topic ? commandUsage(topic.command) : overview());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.out(`${version()}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length && (argv[1] === '--help' || argv[1] === '-h')) {
      io.out(group.map(commandUsage).join('\n'));
      return 0;
    }
    const hint = group.length ? `; ${argv[0]} takes: ${group.map((c) => c.name.split(' ')[1]).join(', ')}` : '';
    io.err(`hintbrush: unknown command '${argv.slice(0, 2).join(' ')}'${hint}\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(commandUsage(command));
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(command.options).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      allowPositionals: command.positionals.max > 0,
      strict: true,
    });
    const n = parsed.positionals.length;
    if (n < command.positionals.min || n > command.positionals.max) {
      throw new UsageError(n < command.positionals.min ? 'missing arguments' : 'too many arguments');
    }
  } catch (err) {
    io.err(`hintbrush ${command.name}: ${(err as Error).message}\n\n${commandUsage(command)}`);
    return 2;
  }

  // Ctrl-C: the command stops its work (cancels its job, closes its server) and cleans up.
  const interrupt = new AbortController();
  signal?.addEventListener('abort', () => interrupt.abort(), { once: true });
  const onSignal = () => interrupt.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await command.run({
      values: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
      io,
      signal: interrupt.signal,
    });
  } catch (err) {
    const info = toErrorInfo(err);
    if (err instanceof UsageError) {
      io.err(`hintbrush ${command.name}: ${info.message}\n\n${commandUsage(command)}`);
      return 2;
    }
    io.err(`hintbrush ${command.name}: ${info.message}${info.kind === 'internal' && process.env.HINTBRUSH_DEBUG === '1' ? `\n${(err as Error).stack}` : ''}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
