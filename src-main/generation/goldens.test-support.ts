// Test-only helpers for the generation tests: the golden fixtures of test/fixtures/sd15-tiny.
// The project's real safetensors reader lives in src-main/formats and is written separately; the tests here
// parse the one golden file with this tiny local reader (8-byte little-endian header length, JSON header,
// F32 data) so they stand on their own.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const fixtureDir = path.join(repoRoot, 'test', 'fixtures', 'sd15-tiny');

export interface GoldenTensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

let cachedFile: { bytes: Buffer; dataStart: number; header: Record<string, HeaderEntry> } | null = null;

function goldenFile(): { bytes: Buffer; dataStart: number; header: Record<string, HeaderEntry> } {
  if (cachedFile) return cachedFile;
  const file = path.join(fixtureDir, 'reference.safetensors');
  const bytes = readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, HeaderEntry>;
  cachedFile = { bytes, dataStart: 8 + headerLength, header };
  return cachedFile;
}

/** One float32 golden tensor from reference.safetensors, copied out (the file's offsets need not be aligned). */
export function golden(name: string): GoldenTensor {
  const { bytes, dataStart, header } = goldenFile();
  const entry = header[name];
  if (!entry) throw new Error(`reference.safetensors: no tensor named ${name}`);
  if (entry.dtype !== 'F32') throw new Error(`reference.safetensors: ${name} is ${entry.dtype}, expected F32`);
  const [begin, end] = entry.data_offsets;
  const copy = Buffer.from(bytes.subarray(dataStart + begin, dataStart + end));
  const data = new Float32Array(copy.buffer, copy.byteOffset, (end - begin) / 4);
  return { shape: entry.shape, data };
}

export interface ReferenceJson {
  tokens: Record<string, number[]>;
  schedulers: Record<string, Record<string, unknown>>;
  rng: string[];
  pipeline: Record<string, unknown>;
  tensors: Record<string, { shape: number[]; what: string }>;
}

let cachedJson: ReferenceJson | null = null;

export function referenceJson(): ReferenceJson {
  if (!cachedJson) {
    cachedJson = JSON.parse(readFileSync(path.join(fixtureDir, 'reference.json'), 'utf8')) as ReferenceJson;
  }
  return cachedJson;
}

/** max |a - b| / max |b|, the fixtures' tolerance measure. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxRef === 0 ? maxDiff : maxDiff / maxRef;
}
