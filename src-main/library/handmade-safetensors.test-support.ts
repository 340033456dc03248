// Test support for the library's tests (not used by the app): writes small safetensors files by hand, so a
// test can build the header of an SDXL, SD2, SD3 or Flux model (real key names, tiny shapes) without
// shipping gigabytes of weights. Written independently of the formats module, byte by byte from the spec:
// u64 little-endian header length, JSON header, then the tensors' bytes back to back.
import fs from 'node:fs';
import type { DType } from '../formats/tensor-file.ts';
import { DTYPE_BYTES } from '../formats/tensor-file.ts';

export interface FakeTensor {
  shape: number[];
  dtype?: DType; // F16 unless told
  /** Raw bytes; zeros of the right length unless given. */
  data?: Buffer;
}

export function writeSafetensors(
  file: string,
  tensors: Record<string, FakeTensor>,
  metadata?: Record<string, string>,
): void {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype ?? 'F16';
    const length = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    const data = t.data ?? Buffer.alloc(length);
    if (data.length !== length) throw new Error(`${name}: ${data.length} bytes for shape ${t.shape} ${dtype}`);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    chunks.push(data);
    offset += length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(json), ...chunks]));
}

/** A float32 scalar tensor holding `value` (a LoRA's alpha). */
export function f32Scalar(value: number): FakeTensor {
  const data = Buffer.alloc(4);
  data.writeFloatLE(value);
  return { shape: [], dtype: 'F32', data };
}

/** The same tensor spec under many names. */
export function many(names: string[], tensor: FakeTensor): Record<string, FakeTensor> {
  return Object.fromEntries(names.map((n) => [n, tensor]));
}
