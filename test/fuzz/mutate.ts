// How the fuzzer changes a valid input into a likely-broken one: a seeded PRNG (a run is repeatable from its
// seed), byte mutations in the style of AFL (bit flips, interesting values, lengths overwritten, ranges
// deleted, duplicated or spliced from another seed, truncation), text mutations with the tokens the parsers
// look for, and random JSON shaped like the contract's inputs.

/** The engine's seeded mulberry32 generator: small, fast, and good enough to pick mutations. */
export { uniformRandom as rng } from '../../src-main/engine/training/trainable-lora.ts';

export type Random = () => number;
const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)];

const BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x7b, 0x7d];
const WORDS = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 1 << 20];

/**
 * One to four mutations of `seed`. `focus`: most mutations land in the first `focus` bytes (a file's header,
 * where the parser decides what the rest is); `others`: seeds to splice from.
 */
export function mutateBytes(r: Random, seed: Uint8Array, focus: number, others: readonly Uint8Array[]): Uint8Array {
  let out = Uint8Array.from(seed);
  const where = () => (out.length === 0 ? 0 : r() < 0.7 ? int(r, Math.max(1, Math.min(focus, out.length))) : int(r, out.length));
  const rounds = 1 + int(r, 4);
  for (let i = 0; i < rounds; i++) {
    const at = where();
    switch (int(r, 9)) {
      case 0:
        if (out.length) out[at] ^= 1 << int(r, 8);
        break;
      case 1:
        if (out.length) out[at] = pick(r, BYTES);
        break;
      case 2: {
        // a length or offset overwritten with an edge value, either byte order
        const v = pick(r, WORDS);
        for (let k = 0; k < 4 && at + k < out.length; k++) out[at + k] = r() < 0.5 ? (v >>> (8 * k)) & 0xff : (v >>> (8 * (3 - k))) & 0xff;
        break;
      }
      case 3: {
        const n = 1 + int(r, 64);
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + n)]);
        break;
      }
      case 4: {
        const extra = Uint8Array.from({ length: 1 + int(r, 32) }, () => (r() < 0.5 ? pick(r, BYTES) : int(r, 256)));
        out = Uint8Array.from([...out.subarray(0, at), ...extra, ...out.subarray(at)]);
        break;
      }
      case 5: {
        const n = 1 + int(r, 256);
        out = Uint8Array.from([...out.subarray(0, at + n), ...out.subarray(at, at + n), ...out.subarray(at + n)]);
        break;
      }
      case 6:
        out = out.subarray(0, int(r, out.length + 1)).slice();
        break;
      case 7: {
        const other = pick(r, others);
        if (other.length === 0) break;
        const from = int(r, other.length);
        const piece = other.subarray(from, from + 1 + int(r, 512));
        out = Uint8Array.from([...out.subarray(0, at), ...piece, ...out.subarray(at + piece.length)]);
        break;
      }
      default:
        if (out.length) out[at] = int(r, 256);
    }
  }
  return out;
}

const TOKENS = ['\n', '\r', ',', ':', '"', '\\', '<lora:', '>', 'Steps: ', 'Negative prompt: ', 'Lora hashes: "', 'ControlNet 0: "', 'Size: ', 'x', '-1', 'NaN', '1e309', '\u202e', '\u2028', '\u0000', '{', '}', '[', ']', '"Model: a [', 'BREAK'];

/** One to four character-level mutations of a text, with the tokens its parser splits on. */
export function mutateText(r: Random, seed: string): string {
  let out = seed;
  const rounds = 1 + int(r, 4);
  for (let i = 0; i < rounds; i++) {
    const at = int(r, out.length + 1);
    switch (int(r, 5)) {
      case 0:
        out = out.slice(0, at) + pick(r, TOKENS) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + 1 + int(r, 16));
        break;
      case 2:
        out = out.slice(0, at) + out.slice(at, at + int(r, 64)).repeat(1 + int(r, 3)) + out.slice(at);
        break;
      case 3:
        out = out.slice(0, at);
        break;
      default:
        out = out.slice(0, at) + String.fromCharCode(int(r, 0x3000)) + out.slice(at + 1);
    }
  }
  return out;
}

/** Field names of the contract's inputs, so random objects sometimes pass the first checks and go deeper. */
const KEYS = [
  'id', 'paths', 'path', 'checkpoint', 'prompt', 'negative', 'width', 'height', 'steps', 'cfg', 'seed', 'sampler', 'clipSkip', 'controls',
  'loras', 'init', 'mask', 'batchSize', 'batchCount', 'kind', 'model', 'base', 'weight', 'start', 'end', 'resizeMode', 'imagePngBase64',
  'strength', 'revision', 'record', 'rasters', 'name', 'layers', 'query', 'limit', 'offset', 'modelId', 'pngBase64', 'jobId', 'tool',
  'datasetId', 'itemId', 'caption', 'recipe', 'condition', 'runId', 'settings', 'rank', 'lr', 'resolution',
];

/** A random JSON value, nested up to `depth`. */
export function randomJson(r: Random, depth = 3): unknown {
  const k = int(r, depth > 0 ? 9 : 6);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1, 0.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 64, 512, 2048, 7.5, 150, 151, int(r, 1000)]);
    case 3:
      return pick(r, ['', 'a', 'euler_a', 'controlnet', 'ctrlora', 'cnxs', 'crop-and-resize', 'iVBORw0KGgo=', '../../etc/passwd', 'x'.repeat(int(r, 5000))]);
    case 4:
      return pick(r, KEYS);
    case 5:
      return int(r, 10);
    case 6:
      return Array.from({ length: int(r, 4) }, () => randomJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 6); i > 0; i--) o[r() < 0.9 ? pick(r, KEYS) : '__proto__'] = randomJson(r, depth - 1);
      return o;
    }
  }
}
