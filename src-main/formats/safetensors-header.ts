// Validation of a safetensors header (the JSON after the 8-byte length). The header comes from a file someone
// downloaded, so every field is checked before any offset in it is trusted: a bad entry is reported by name
// instead of turning into an out-of-range read or a silently wrong tensor later in the engine.

import { DTYPE_BYTES, TensorFileError, type DType, type TensorEntry } from './tensor-file.ts';

/** Largest header accepted (the reference implementation's bound); real SD checkpoints use well under 1 MB. */
export const MAX_HEADER_BYTES = 100_000_000;

/** dtypes the safetensors format defines that this project has no arithmetic for. */
const KNOWN_UNSUPPORTED_DTYPES = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64']);

export interface ParsedHeader {
  readonly tensors: Map<string, TensorEntry>;
  readonly metadata: Record<string, string>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDType(value: string): value is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

function quote(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
}

/**
 * Checks the 8-byte length prefix against the file: returns the header length, or throws naming the problem.
 * `prefix` holds the file's first bytes (at least 8 when the file has them).
 */
export function checkHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw new TensorFileError('corrupt', file, `is ${fileSize} bytes, shorter than the 8-byte safetensors header length`);
  }
  const length = Buffer.from(prefix.buffer, prefix.byteOffset, 8).readBigUInt64LE(0);
  if (length === 0n) throw new TensorFileError('corrupt', file, 'safetensors header length is 0');
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new TensorFileError('corrupt', file, `safetensors header length ${length} exceeds the bound of ${MAX_HEADER_BYTES} bytes`);
  }
  if (length > BigInt(fileSize - 8)) {
    throw new TensorFileError('corrupt', file, `safetensors header length ${length} is larger than the file (${fileSize} bytes)`);
  }
  return Number(length);
}

function parseJsonObject(bytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TensorFileError('corrupt', file, 'safetensors header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TensorFileError('corrupt', file, `safetensors header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) throw new TensorFileError('corrupt', file, 'safetensors header is not a JSON object');
  return json;
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (!isPlainObject(value)) throw new TensorFileError('corrupt', file, '__metadata__ is not a map of strings to strings');
  const metadata: Record<string, string> = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new TensorFileError('corrupt', file, `__metadata__ value of ${quote(key)} is not a string`);
    }
    metadata[key] = v;
  }
  return metadata;
}

function parseShape(value: unknown, name: string, file: string): number[] {
  const bad = (why: string) =>
    new TensorFileError('corrupt', file, `tensor ${quote(name)}: shape ${why}`);
  if (!Array.isArray(value)) throw bad('is not an array');
  let count = 1;
  for (const d of value) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw bad(`${JSON.stringify(value)} has a dimension that is not a non-negative integer`);
    }
    count *= d;
    if (!Number.isSafeInteger(count)) throw bad(`${JSON.stringify(value)} has too many elements`);
  }
  return value as number[];
}

function parseOffsets(value: unknown, name: string, file: string): [number, number] {
  const ok =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
  if (!ok) {
    throw new TensorFileError('corrupt', file, `tensor ${quote(name)}: data_offsets ${JSON.stringify(value)} is not two non-negative integers`);
  }
  const [begin, end] = value as [number, number];
  if (begin > end) {
    throw new TensorFileError('corrupt', file, `tensor ${quote(name)}: data_offsets [${begin}, ${end}] are not in order (begin > end)`);
  }
  return [begin, end];
}

/**
 * Parses and validates the header bytes. `dataStart` is 8 + header length, `fileSize` the whole file's size:
 * tensor ranges must lie in [dataStart, fileSize) and must not overlap. Gaps between tensors are allowed.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, dataStart: number, fileSize: number, file: string): ParsedHeader {
  const json = parseJsonObject(bytes, file);
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = Object.create(null);
  const ranges: { name: string; begin: number; end: number }[] = [];

  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, file);
      continue;
    }
    if (!isPlainObject(raw)) throw new TensorFileError('corrupt', file, `tensor ${quote(name)} is not an object`);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.prototype.hasOwnProperty.call(raw, field)) {
        throw new TensorFileError('corrupt', file, `tensor ${quote(name)} is missing ${field}`);
      }
    }
    const dtype = raw.dtype;
    if (typeof dtype !== 'string' || !isDType(dtype)) {
      if (typeof dtype === 'string' && KNOWN_UNSUPPORTED_DTYPES.has(dtype)) {
        throw new TensorFileError('unsupported', file, `tensor ${quote(name)} has dtype ${dtype}, which is not supported`);
      }
      throw new TensorFileError('corrupt', file, `tensor ${quote(name)} has unknown dtype ${JSON.stringify(dtype)}`);
    }
    const shape = parseShape(raw.shape, name, file);
    const [begin, end] = parseOffsets(raw.data_offsets, name, file);
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw new TensorFileError(
        'corrupt',
        file,
        `tensor ${quote(name)} has ${end - begin} bytes of data but shape [${shape.join(', ')}] of ${dtype} needs ${expected}`,
      );
    }
    if (end > dataSize) {
      throw new TensorFileError(
        'corrupt',
        file,
        `tensor ${quote(name)}: data_offsets [${begin}, ${end}] lie outside the data area (${dataSize} bytes; is the file truncated?)`,
      );
    }
    ranges.push({ name, begin, end });
    tensors.set(name, { name, dtype, shape, fileOffset: dataStart + begin, byteLength: end - begin });
  }

  // Empty tensors occupy no bytes and cannot overlap anything; among the others, each must start at or after
  // the furthest end seen so far.
  const filled = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin);
  let furthest: (typeof ranges)[number] | undefined;
  for (const cur of filled) {
    if (furthest && cur.begin < furthest.end) {
      throw new TensorFileError(
        'corrupt',
        file,
        `tensors ${quote(furthest.name)} [${furthest.begin}, ${furthest.end}] and ${quote(cur.name)} [${cur.begin}, ${cur.end}] overlap`,
      );
    }
    if (!furthest || cur.end > furthest.end) furthest = cur;
  }
  return { tensors, metadata };
}
