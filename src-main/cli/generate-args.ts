// The `hintbrush generate` unit arguments: FILE:WEIGHT (--lora) and FILE:IMAGE:WEIGHT[:START:END] (--control,
// --ctrlora, --cnxs). Read from the right, since paths may hold ':' themselves: a Windows drive (C:\models\...)
// is a lone letter whose colon is followed by a slash, and the numbers are the trailing fields. A unit may end
// in `:region=N`, tying the hint to entry N (from 0) of the --regions file.

import { UsageError } from './command.ts';

export interface UnitSpec {
  file: string;
  image: string;
  weight: number;
  start: number;
  end: number;
  /** `region=N`: the index in the --regions file of the region the hint is limited to. */
  region?: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

/** Splits at the colons that separate fields, keeping a drive letter's colon (a lone letter, then a slash). */
function fields(spec: string): string[] {
  const raw = spec.split(':');
  const out: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (/^[A-Za-z]$/.test(raw[i]) && i + 1 < raw.length && /^[\\/]/.test(raw[i + 1])) out.push(`${raw[i]}:${raw[++i]}`);
    else out.push(raw[i]);
  }
  return out;
}

function number(text: string, what: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!NUMBER.test(text) || n < min || n > max) throw new UsageError(`${option}: ${what} ${JSON.stringify(text)} must be a number from ${min} to ${max}`);
  return n;
}

/** --lora FILE:WEIGHT */
export function parseLoraSpec(spec: string, option = '--lora'): { file: string; weight: number } {
  const parts = fields(spec);
  if (parts.length < 2 || !NUMBER.test(parts.at(-1)!)) throw new UsageError(`${option} takes FILE:WEIGHT, not ${JSON.stringify(spec)}`);
  const file = parts.slice(0, -1).join(':');
  if (!file) throw new UsageError(`${option}: the FILE is missing in ${JSON.stringify(spec)}`);
  return { file, weight: number(parts.at(-1)!, 'weight', option, 0, 2) };
}

/** --control FILE:IMAGE:WEIGHT[:START:END][:region=N] (also --ctrlora LORA:IMAGE:WEIGHT and --cnxs FILE:IMAGE:WEIGHT). */
export function parseUnitSpec(spec: string, option: string): UnitSpec {
  const parts = fields(spec);
  let region: number | undefined;
  const tie = /^region=(.*)$/.exec(parts.at(-1) ?? '');
  if (tie) {
    if (!/^\d+$/.test(tie[1]) || Number(tie[1]) > 1000) {
      throw new UsageError(`${option}: region=N takes a region's place in the --regions file counting from 0, not ${JSON.stringify(tie[1])}`);
    }
    region = Number(tie[1]);
    parts.pop();
  }
  let numbers = 0;
  while (numbers < parts.length && numbers < 3 && NUMBER.test(parts[parts.length - 1 - numbers])) numbers++;
  const usage = `${option} takes FILE:IMAGE:WEIGHT[:START:END][:region=N], not ${JSON.stringify(spec)}`;
  if (numbers !== 1 && numbers !== 3) throw new UsageError(usage);
  const paths = parts.slice(0, parts.length - numbers);
  if (paths.length !== 2 || !paths[0] || !paths[1]) {
    throw new UsageError(paths.length > 2 ? `${option}: cannot tell FILE from IMAGE in ${JSON.stringify(spec)} (a ':' in a name?)` : usage);
  }
  const tail = parts.slice(parts.length - numbers);
  const weight = number(tail[0], 'weight', option, 0, 2);
  const start = numbers === 3 ? number(tail[1], 'start', option, 0, 1) : 0;
  const end = numbers === 3 ? number(tail[2], 'end', option, 0, 1) : 1;
  if (!(start < end)) throw new UsageError(`${option}: start ${start} must be below end ${end}`);
  return { file: paths[0], image: paths[1], weight, start, end, ...(region === undefined ? {} : { region }) };
}

/** A string option's values as a list (repeatable options come as arrays, others as one string). */
export function listOption(value: string | boolean | string[] | undefined): string[] {
  if (value === undefined || value === false) return [];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

/** A number option within bounds; `fallback` when absent. */
export function numberOption(value: string | boolean | string[] | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new UsageError(`--${name} takes one number`);
  return number(value, 'value', `--${name}`, min, max);
}

/**
 * A number option as the request's number, undefined when absent; its range is the contract's to check
 * (validateGenerateInput), so `hintbrush generate` and the studio accept the same values.
 */
export function numberValue(value: string | boolean | string[] | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError(`--${name} takes one number`);
  if (!NUMBER.test(value)) throw new UsageError(`--${name}: ${JSON.stringify(value)} is not a number`);
  return Number(value);
}
