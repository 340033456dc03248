// The field checks every validator of the contract is built from (requests in contract.ts and the *-contract.ts
// files, and the document record in document-record-check.ts): an object with only known fields, numbers and
// integers in a range, bounded text without NUL, one of a list, ids, base64, a model given by library id or
// path. Each throws a ContractError naming the field. Pure module: imports only errors.ts, so every contract
// module can import it without a cycle.
import { ContractError } from './errors.ts';

/** A library model, by id or by a path the library lists (the CLI and scripts use paths). */
export type ModelSelector = number | string;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A plain object (not null, not a list). */
export function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ContractError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

/** A request's input: absent is `{}`; any field not in `known` is refused. */
export function fields(input: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ContractError(`${what} must be an object`);
  const r = input as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => !known.includes(k));
  if (extra) throw new ContractError(`${what}: unknown field ${JSON.stringify(extra).slice(0, 60)}`);
  return r;
}

export function num(value: unknown, what: string, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ContractError(`${what} must be a number from ${min} to ${max}`);
  }
  return value;
}

export function int(value: unknown, what: string, min: number, max: number, fallback?: number): number {
  const n = num(value, what, min, max, fallback);
  if (!Number.isInteger(n)) throw new ContractError(`${what} must be an integer from ${min} to ${max}`);
  return n;
}

/** A database id: a non-negative integer. */
export const rowId = (value: unknown, what: string): number => int(value, what, 0, Number.MAX_SAFE_INTEGER);

/** A database id, or null for none. */
export const nullableRowId = (value: unknown, what: string): number | null => (value === null ? null : rowId(value, what));

/** Text of at most `max` characters without NUL (empty allowed). */
export function text(value: unknown, what: string, max: number, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length > max || value.includes('\0')) throw new ContractError(`${what} must be text of at most ${max} characters`);
  return value;
}

/** Text of 1 to `max` characters without NUL. */
export function nonEmptyText(value: unknown, what: string, max = 200): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || value.includes('\0')) {
    throw new ContractError(`${what} must be text of 1 to ${max} characters`);
  }
  return value;
}

export function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new ContractError(`${what} must be true or false`);
  return value;
}

export function oneOf<T extends string | number>(value: unknown, what: string, options: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!(options as readonly unknown[]).includes(value)) throw new ContractError(`${what} must be one of ${options.join(', ')}`);
  return value as T;
}

/** A list of at most `max` items; absent is an empty list when `optional`. */
export function list(value: unknown, what: string, max: number, optional = false): unknown[] {
  if (value === undefined && optional) return [];
  if (!Array.isArray(value) || value.length > max) throw new ContractError(`${what} must be a list of at most ${max} items`);
  return value;
}

/** 1 to `max` strings of 1 to `maxLen` characters without NUL (paths, for instance). */
export function stringList(value: unknown, what: string, max: number, maxLen: number): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) throw new ContractError(`${what} must be a list of 1 to ${max} strings`);
  for (const v of value) {
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLen || v.includes('\0')) {
      throw new ContractError(`${what} must hold non-empty strings of at most ${maxLen} characters`);
    }
  }
  return value as string[];
}

/** An id of 1 to 64 letters, digits, _ or - (documents, layers, rasters). */
export function idText(value: unknown, what: string): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) throw new ContractError(`${what} must be an id of 1 to 64 letters, digits, _ or -`);
  return value;
}

export const isBase64 = (value: string): boolean => value.length % 4 === 0 && BASE64.test(value);

/** Bytes a base64 text decodes to. */
export function base64Bytes(value: string): number {
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return (value.length / 4) * 3 - pad;
}

/** Non-empty base64 text of at most `maxChars` characters; `content` names what it holds ('a PNG as base64 text'). */
export function base64(value: unknown, what: string, maxChars: number, content = 'base64 text'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars || !isBase64(value)) {
    throw new ContractError(`${what} must be ${content} of at most ${maxChars} characters`);
  }
  return value;
}

export function model(value: unknown, what: string): ModelSelector {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 4096 && !value.includes('\0')) return value;
  throw new ContractError(`${what} must be a library model id or a path the library lists`);
}
