// safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and byte
// range, then the raw data. Opening reads only the header; tensor bytes stay in the file until asked for, so a
// 4 GB checkpoint costs a few hundred kilobytes of memory to open.
// Writing (latents out, trained LoRAs) produces what the reference implementation produces: tensors sorted by
// element size then name so each is naturally aligned, no gaps, the header padded with spaces to 8 bytes.

import fs from 'node:fs';
import { DiskWriteError, writeFileAtomic } from './atomic-file.ts';
import { FdTensorFile, openRegularFile, readExact } from './fd-tensor-file.ts';
import { checkHeaderLength, parseSafetensorsHeader } from './safetensors-header.ts';
import { DTYPE_BYTES, TensorFileError, type DType, type TensorFile } from './tensor-file.ts';

/** Opens a safetensors file, reading and validating only its header. The caller owns the result: `close()` it. */
export function openSafetensors(file: string): TensorFile {
  const opened = openRegularFile(file);
  try {
    const prefix = readExact(opened.fd, file, 0, Math.min(8, opened.size));
    const headerLength = checkHeaderLength(prefix, opened.size, file);
    const headerBytes = readExact(opened.fd, file, 8, headerLength);
    const { tensors, metadata } = parseSafetensorsHeader(headerBytes, 8 + headerLength, opened.size, file);
    return new FdTensorFile(opened, 'safetensors', tensors, metadata, file);
  } catch (error) {
    fs.closeSync(opened.fd);
    throw error;
  }
}

/** One tensor to write. `data` holds the stored little-endian bytes of `dtype` (typed array or raw bytes). */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView;
}

/** Typed arrays whose element type pins the dtype; raw bytes (Uint8Array, Buffer, DataView) may hold any dtype. */
const TYPED_ARRAY_DTYPES: [new (...args: never[]) => ArrayBufferView, DType[]][] = [
  [Float32Array, ['F32']],
  [Float64Array, ['F64']],
  [Uint16Array, ['F16', 'BF16']],
  [Int16Array, ['I16']],
  [Int32Array, ['I32']],
  [BigInt64Array, ['I64']],
  [Int8Array, ['I8']],
];

function bytesOf(data: ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

interface Layout {
  readonly header: Buffer; // length prefix + padded JSON
  readonly ordered: readonly TensorToWrite[];
  readonly dataBytes: number;
}

/** Validates the tensors and lays out the file: the same checks the reader applies, made before writing. */
function layout(tensors: readonly TensorToWrite[], metadata: Readonly<Record<string, string>> | undefined, file: string): Layout {
  const fail = (message: string) => new TensorFileError('corrupt', file, `cannot write: ${message}`);
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__') throw fail("'__metadata__' is reserved and cannot name a tensor");
    if (seen.has(t.name)) throw fail(`tensor '${t.name}' is given twice`);
    seen.add(t.name);
    if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, t.dtype)) throw fail(`tensor '${t.name}' has unknown dtype ${t.dtype}`);
    for (const [ctor, dtypes] of TYPED_ARRAY_DTYPES) {
      if (t.data instanceof ctor && !dtypes.includes(t.dtype)) {
        throw fail(`tensor '${t.name}' is declared ${t.dtype} but its data is a ${ctor.name}`);
      }
    }
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw fail(`tensor '${t.name}' has shape [${t.shape.join(', ')}]`);
      count *= d;
    }
    const expected = count * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) {
      throw fail(`tensor '${t.name}' has ${t.data.byteLength} bytes but shape [${t.shape.join(', ')}] of ${t.dtype} needs ${expected}`);
    }
  }
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw fail(`metadata value of '${k}' is not a string`);
    }
  }

  // Larger elements first, then by name: every tensor starts at a multiple of its own element size.
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const json: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) json.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of ordered) {
    json[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const header = Buffer.alloc(8 + padded, 0x20); // spaces, which JSON allows after the object
  header.writeBigUInt64LE(BigInt(padded), 0);
  text.copy(header, 8);
  return { header, ordered, dataBytes: offset };
}

/** The whole safetensors file in memory (for small outputs and tests). */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata?: Readonly<Record<string, string>>): Buffer {
  const { header, ordered, dataBytes } = layout(tensors, metadata, '<memory>');
  const out = Buffer.allocUnsafe(header.length + dataBytes);
  header.copy(out, 0);
  let at = header.length;
  for (const t of ordered) {
    bytesOf(t.data).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (writeFileAtomic: a temporary file beside the target, flushed, then
 * renamed over it), so a crash or a full disk never leaves a half-written file under the final name. A full
 * disk throws DiskWriteError (kind 'disk-full') naming the folder and the bytes needed.
 */
export function writeSafetensors(
  file: string,
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): void {
  const { header, ordered } = layout(tensors, metadata, file);
  try {
    writeFileAtomic(file, [header, ...ordered.map((t) => bytesOf(t.data))]);
  } catch (error) {
    if (error instanceof DiskWriteError) throw error;
    const e = error as NodeJS.ErrnoException;
    throw new TensorFileError('io', file, `cannot write: ${e.code ?? ''} ${e.message}`.trim());
  }
}
