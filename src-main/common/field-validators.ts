// The field checks every method's validator is built from: an object with only known fields, numbers and
// integers in a range, bounded text without NUL, one of a list, a model given by library id or path. Each throws
// a ContractError naming the field. Pure module: no Node, Electron or DOM imports.
import { ContractError } from './contract.ts';
import type { ModelSelector } from './generation-contract.ts';

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

export function text(value: unknown, what: string, max: number, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.length > max || value.includes('\0')) throw new ContractError(`${what} must be text of at most ${max} characters`);
  return value;
}

export function oneOf<T extends string | number>(value: unknown, what: string, options: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!(options as readonly unknown[]).includes(value)) throw new ContractError(`${what} must be one of ${options.join(', ')}`);
  return value as T;
}

export function model(value: unknown, what: string): ModelSelector {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && value.length > 0 && value.length <= 4096 && !value.includes('\0')) return value;
  throw new ContractError(`${what} must be a library model id or a path the library lists`);
}
