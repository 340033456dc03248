// Writes a safetensors file holding a layout (sd15-layout.ts) filled with seeded random values, streamed tensor by
// tensor in chunks so a full-size checkpoint (1-4 GB) never sits in memory. Values are the same whatever the
// stored dtype (each tensor has its own generator seeded from the file seed and its name), so an F32 file written
// with `roundAs: 'BF16'` holds exactly the values of the BF16 file: dtype handling can be compared fairly.
//
// The init keeps activations finite through the full-size network: weights ~ N(0, 1/fan_in) (variance
// preserving), biases a quarter of that scale, norm weights 1 and biases 0, embeddings 0.02 as CLIP initialises.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bfloat16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../../formats/dtype-convert.ts';
import { TensorFileError } from '../../formats/tensor-file.ts';
import type { LayoutTensor } from './sd15-layout.test-support.ts';

export type RandomDType = 'F32' | 'F16' | 'BF16';

export interface RandomCheckpointOptions {
  /** Round every value to this precision first (an F32 file holding BF16 values). */
  roundAs?: 'BF16' | 'F16';
  metadata?: Readonly<Record<string, string>>;
  /** Called after each tensor with bytes written so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

const CHUNK = 1 << 20; // values generated and written at a time (4 MiB of float32)
const GAIN = { weight: 1, bias: 0.25, embedding: 0.02 } as const;

/** FNV-1a of the name mixed with the seed, then a splitmix32 finaliser: a non-zero xorshift32 state. */
function tensorState(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 0x9e3779b9 : h;
}

/** Fills one tensor's values chunk by chunk; the generator state carries over, so chunking changes nothing. */
class TensorValues {
  private state: number;
  private done = 0;
  private readonly count: number;
  private readonly std: number;

  constructor(
    readonly tensor: LayoutTensor,
    seed: number,
  ) {
    this.state = tensorState(seed, tensor.name);
    this.count = tensor.shape.reduce((a, d) => a * d, 1);
    const init = tensor.init;
    const gain = init === 'weight' || init === 'bias' ? GAIN[init] / Math.sqrt(Math.max(1, tensor.fanIn)) : GAIN.embedding;
    // Irwin-Hall of four 16-bit uniforms: mean 2 * 65535, variance 4 * 65536^2 / 12; bounded at 3.46 sigma.
    this.std = gain / (65536 / Math.sqrt(3));
  }

  get remaining(): number {
    return this.count - this.done;
  }

  /** Next `out.length` values (at most `remaining`). */
  next(out: Float32Array): void {
    const init = this.tensor.init;
    if (init === 'norm-weight' || init === 'norm-bias') out.fill(init === 'norm-weight' ? 1 : 0);
    else {
      let x = this.state;
      const std = this.std;
      for (let i = 0; i < out.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const a = x;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = ((a & 0xffff) + (a >>> 16) + (x & 0xffff) + (x >>> 16) - 131070) * std;
      }
      this.state = x;
    }
    this.done += out.length;
  }
}

/** Rounds float32 values in place to the precision of `as`. */
function roundInPlace(values: Float32Array, as: 'BF16' | 'F16'): void {
  if (as === 'BF16') values.set(bfloat16ToFloat32(float32ToBfloat16(values)));
  else {
    const half = float32ToFloat16(values);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < half.length; i++) {
      const h = half[i];
      const e = (h >>> 10) & 0x1f;
      const m = h & 0x3ff;
      const sign = h & 0x8000 ? -1 : 1;
      if (e === 0) values[i] = sign * m * 2 ** -24;
      else if (e === 0x1f) values[i] = m ? NaN : sign * Infinity;
      else {
        u[0] = ((h & 0x8000) << 16) | ((e + 112) << 23) | (m << 13);
        values[i] = f[0];
      }
    }
  }
}

/** All values of one tensor as float32 (as the file holds them once widened): for tests, not for big tensors. */
export function randomTensorValues(tensor: LayoutTensor, seed: number, roundAs?: 'BF16' | 'F16'): Float32Array {
  if (tensor.init === 'position-ids') return Float32Array.from({ length: tensor.shape[1] }, (_, i) => i);
  const gen = new TensorValues(tensor, seed);
  const out = new Float32Array(gen.remaining);
  gen.next(out);
  if (roundAs) roundInPlace(out, roundAs);
  return out;
}

function dtypeOf(t: LayoutTensor, dtype: RandomDType): 'I64' | RandomDType {
  return t.init === 'position-ids' ? 'I64' : dtype;
}

const BYTES = { I64: 8, F32: 4, F16: 2, BF16: 2 } as const;

/** Header bytes (length prefix + JSON padded with spaces to 8) and tensors in file order. */
function header(layout: readonly LayoutTensor[], dtype: RandomDType, metadata: Readonly<Record<string, string>> | undefined) {
  // As the reference writer orders them: larger elements first, then by name, so every tensor is aligned.
  const ordered = [...layout].sort(
    (a, b) => BYTES[dtypeOf(b, dtype)] - BYTES[dtypeOf(a, dtype)] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of ordered) {
    const size = t.shape.reduce((a, d) => a * d, 1) * BYTES[dtypeOf(t, dtype)];
    json[t.name] = { dtype: dtypeOf(t, dtype), shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const bytes = Buffer.alloc(8 + padded, 0x20);
  bytes.writeBigUInt64LE(BigInt(padded), 0);
  text.copy(bytes, 8);
  return { bytes, ordered, dataBytes: offset };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done);
}

function tensorBytes(values: Float32Array, dtype: RandomDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = dtype === 'F16' ? float32ToFloat16(values) : float32ToBfloat16(values);
  return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
}

/**
 * Writes `layout` with seeded random values as a safetensors file, atomically (a temporary file beside the
 * target, renamed when complete), streaming: memory use stays at one chunk whatever the file size.
 */
export function writeRandomCheckpoint(
  file: string,
  layout: readonly LayoutTensor[],
  dtype: RandomDType,
  seed: number,
  opts: RandomCheckpointOptions = {},
): { bytes: number; tensors: number } {
  const names = new Set<string>();
  for (const t of layout) {
    if (names.has(t.name)) throw new TensorFileError('corrupt', file, `cannot write: tensor '${t.name}' is given twice`);
    names.add(t.name);
  }
  const { bytes: head, ordered, dataBytes } = header(layout, dtype, opts.metadata);
  const total = head.length + dataBytes;
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  const scratch = new Float32Array(CHUNK);
  try {
    fd = fs.openSync(temp, 'wx');
    writeAll(fd, head);
    let written = head.length;
    for (const t of ordered) {
      if (t.init === 'position-ids') {
        const ids = BigInt64Array.from({ length: t.shape[1] }, (_, i) => BigInt(i));
        writeAll(fd, new Uint8Array(ids.buffer));
        written += ids.byteLength;
        continue;
      }
      const gen = new TensorValues(t, seed);
      while (gen.remaining > 0) {
        const values = scratch.subarray(0, Math.min(CHUNK, gen.remaining));
        gen.next(values);
        if (opts.roundAs) roundInPlace(values, opts.roundAs);
        const bytes = tensorBytes(values, dtype);
        writeAll(fd, bytes);
        written += bytes.byteLength;
      }
      opts.onProgress?.(written, total);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temp, file);
    return { bytes: total, tensors: ordered.length };
  } catch (error) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    if (error instanceof TensorFileError) throw error;
    const e = error as NodeJS.ErrnoException;
    throw new TensorFileError('io', file, `cannot write: ${e.code ?? ''} ${e.message}`.trim());
  }
}
