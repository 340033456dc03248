// Conversions between the stored element types of weights files and float32, the type the graph builder and
// the CPU-side code (LoRA merges, detectors) compute in. Everything here assumes a little-endian host, as every
// platform Electron ships on is; the stored bytes are little-endian by both formats' definitions.

import type { DType } from './tensor-file.ts';

let halfTable: Float32Array | undefined;

/** float32 value of every one of the 65536 half-precision bit patterns, built once on first use (256 KiB). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) bits[h] = halfBitsToFloatBits(h);
  halfTable = table;
  return table;
}

/** IEEE binary16 -> binary32 bit pattern, exact (every half value is representable in float32). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // Inf / NaN (payload kept)
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0; // 127 - 15 = 112
  if (mantissa === 0) return sign >>> 0; // signed zero
  // Subnormal half: shift the mantissa up until its leading one becomes the implicit bit.
  let e = 113;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mantissa & 0x3ff) << 13)) >>> 0;
}

/** Half-precision bits (as stored in F16 tensors) to float32 values. */
export function float16ToFloat32(half: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
  return out;
}

/** bfloat16 bits to float32: bfloat16 is the upper half of a float32, so this is a shift. */
export function bfloat16ToFloat32(bf: Uint16Array): Float32Array {
  const out = new Float32Array(bf.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < bf.length; i++) bits[i] = bf[i] << 16;
  return out;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** One float32 to half bits, rounding to nearest even as torch's `.half()` does; overflow goes to infinity. */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0); // Inf / NaN
  const e = exponent - 112; // re-biased half exponent
  if (e >= 0x1f) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // Result is subnormal (or zero): align the mantissa, with its implicit bit, to 2^-24 units.
    if (e < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    const half = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const roundUp = rest > halfway || (rest === halfway && (half & 1) === 1);
    return sign | (half + (roundUp ? 1 : 0)); // a carry into the exponent field is the correct result
  }
  const half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  const roundUp = rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1);
  return sign | (half + (roundUp ? 1 : 0)); // carry may reach 0x7c00 = infinity, as it should
}

/** float32 values to half bits, for writing F16 tensors (LoRA outputs, latents). */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/** float32 values to bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function float32ToBfloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/**
 * Raw stored bytes of `count` elements of `dtype` to float32. `bytes` must start on an 8-byte boundary of its
 * ArrayBuffer (callers read into fresh buffers) so the typed-array views below need no copy.
 */
export function decodeToFloat32(dtype: DType, bytes: Uint8Array, count: number): Float32Array {
  const { buffer, byteOffset } = bytes;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, byteOffset, count);
    case 'F16':
      return float16ToFloat32(new Uint16Array(buffer, byteOffset, count));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(buffer, byteOffset, count));
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, byteOffset, count));
    case 'I64': {
      const src = new BigInt64Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'I32':
      return Float32Array.from(new Int32Array(buffer, byteOffset, count));
    case 'I16':
      return Float32Array.from(new Int16Array(buffer, byteOffset, count));
    case 'I8':
      return Float32Array.from(new Int8Array(buffer, byteOffset, count));
    case 'U8':
      return Float32Array.from(new Uint8Array(buffer, byteOffset, count));
    case 'BOOL': {
      const src = new Uint8Array(buffer, byteOffset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = src[i] !== 0 ? 1 : 0;
      return out;
    }
  }
}
