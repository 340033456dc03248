// A torch-compatible CPU random generator: `new TorchGenerator(seed).randn(shape)` returns the same float32
// values, bit for bit, as `torch.manual_seed(seed); torch.randn(shape)` on the CPU. Seed parity with other
// Stable Diffusion front ends (and with the fixtures' goldens) depends on it.
//
// How PyTorch draws normals on the CPU (ATen normal_kernel):
// - the engine is a plain mt19937 seeded with the low 32 bits of the seed;
// - a contiguous float tensor of >= 16 elements is first filled with uniforms made from 24 random bits each,
//   then turned into normals 16 at a time by Box-Muller (u1 from the first 8, u2 from the next 8). When the
//   size is not a multiple of 16, the last 16 slots are refilled with fresh uniforms and transformed again.
//   On x86 CPUs with AVX2 this transform uses the cephes-style log/sincos polynomials of avx_mathfun.h, in
//   float32, with the multiply-adds that GCC fuses into FMAs; elsewhere it uses the C library's logf/cosf/sinf;
// - fewer than 16 elements go through normal_distribution<double>: two 64-bit uniforms per pair, the second
//   value of each pair cached in the generator and returned by the next draw (even by a later call).
import { fma32, sincosAvx, logAvx } from './torch-rng-avx.ts';

const f32 = Math.fround;
const N = 624;
const M = 397;

/** mt19937 as std::mt19937 / at::mt19937 (32-bit output, seed through the 1812433253 recurrence). */
export class Mt19937 {
  private readonly state = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.state[0] = seed >>> 0;
    for (let j = 1; j < N; j++) {
      const prev = this.state[j - 1] ^ (this.state[j - 1] >>> 30);
      this.state[j] = (Math.imul(1812433253, prev) + j) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const s = this.state;
    for (let k = 0; k < N; k++) {
      const y = (s[k] & 0x80000000) | (s[(k + 1) % N] & 0x7fffffff);
      s[k] = s[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  clone(): Mt19937 {
    const copy = new Mt19937(0);
    copy.state.set(this.state);
    copy.index = this.index;
    return copy;
  }
}

/**
 * Which of PyTorch's CPU kernels to reproduce for tensors of >= 16 elements: 'avx2' is what x86-64 PyTorch
 * builds run on AVX2 machines (the fixtures were made that way); 'scalar' is the portable kernel (ARM, Apple
 * silicon, builds without AVX2 dispatch). They differ by at most a few float32 ulps.
 */
export type TorchNormalKernel = 'avx2' | 'scalar';

export interface TorchGeneratorOptions {
  kernel?: TorchNormalKernel;
}

export class TorchRngError extends Error {
  readonly kind = 'bad-seed';
}

/** Reduces a seed as torch.manual_seed does: to uint64, of which mt19937 keeps the low 32 bits. */
export function torchSeed32(seed: number | bigint): number {
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new TorchRngError(`torch-rng: seed ${seed} is not an integer`);
    seed = BigInt(seed);
  }
  return Number(BigInt.asUintN(32, BigInt.asUintN(64, seed)));
}

const TWO_POW_24 = 16777216;
const TWO_POW_53 = 9007199254740992;
const TWO_PI_F32 = f32(2 * Math.PI); // 2.0f * c10::pi<double>, stored as float

export class TorchGenerator {
  readonly seed: number;
  readonly kernel: TorchNormalKernel;
  private engine: Mt19937;
  /** normal_distribution<double>'s cached second value of a Box-Muller pair (CPUGeneratorImpl state). */
  private nextDoubleNormal: number | null = null;

  constructor(seed: number | bigint, options: TorchGeneratorOptions = {}) {
    this.seed = torchSeed32(seed);
    this.kernel = options.kernel ?? 'avx2';
    this.engine = new Mt19937(this.seed);
  }

  /** torch.manual_seed on this generator: new stream, cached normal dropped. */
  manualSeed(seed: number | bigint): void {
    (this as { seed: number }).seed = torchSeed32(seed);
    this.engine = new Mt19937(this.seed);
    this.nextDoubleNormal = null;
  }

  /** An independent copy with the same state (e.g. to preview without consuming the stream). */
  clone(): TorchGenerator {
    const copy = new TorchGenerator(this.seed, { kernel: this.kernel });
    copy.engine = this.engine.clone();
    copy.nextDoubleNormal = this.nextDoubleNormal;
    return copy;
  }

  /** CPUGeneratorImpl::random(): 32 random bits. */
  random(): number {
    return this.engine.nextUint32();
  }

  /** at::uniform_real_distribution<float>(0, 1): 24 random bits scaled by 2^-24. */
  private uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) / TWO_POW_24;
  }

  /** at::uniform_real_distribution<double>(0, 1): the low 53 bits of random64() (hi word first), by 2^-53. */
  private uniformDouble(): number {
    const hi = this.engine.nextUint32();
    const lo = this.engine.nextUint32();
    // (hi << 32 | lo) & (2^53 - 1) == (hi & 0x1fffff) * 2^32 + lo, exact in a double
    return ((hi & 0x1fffff) * 4294967296 + lo) / TWO_POW_53;
  }

  /** at::normal_distribution<double>(0, 1) with the generator's one-value cache. */
  private normalDouble(): number {
    if (this.nextDoubleNormal !== null) {
      const cached = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** torch.randn(shape) (float32, CPU, contiguous); continues this generator's stream. */
  randn(shape: readonly number[] | number): Float32Array {
    const dims = typeof shape === 'number' ? [shape] : shape;
    let size = 1;
    for (const d of dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new TorchRngError(`torch-rng: bad shape [${dims.join(', ')}]`);
      size *= d;
    }
    const out = new Float32Array(size);
    if (size < 16) {
      for (let i = 0; i < size; i++) out[i] = f32(this.normalDouble());
      return out;
    }
    for (let i = 0; i < size; i++) out[i] = this.uniformFloat();
    const fill16 = this.kernel === 'avx2' ? normalFill16Avx2 : normalFill16Scalar;
    for (let i = 0; i + 16 <= size; i += 16) fill16(out, i);
    if (size % 16 !== 0) {
      // PyTorch recomputes the last 16 values from fresh uniforms, overwriting part of the last full block.
      const start = size - 16;
      for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat();
      fill16(out, start);
    }
    return out;
  }
}

/** normal_fill_16: portable kernel, float arithmetic with logf/cosf/sinf (correctly rounded here). */
function normalFill16Scalar(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[offset + j]); // [0, 1) -> (0, 1] for log
    const u2 = data[offset + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
    const theta = f32(2 * Math.PI * u2); // computed in double, stored as float
    data[offset + j] = f32(radius * f32(Math.cos(theta)));
    data[offset + j + 8] = f32(radius * f32(Math.sin(theta)));
  }
}

/** normal_fill_16_AVX2: the same transform through avx_mathfun's float32 polynomials. */
function normalFill16Avx2(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[offset + j]);
    const u2 = data[offset + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * logAvx(u1))));
    const theta = f32(TWO_PI_F32 * u2);
    const [sin, cos] = sincosAvx(theta);
    // _mm256_fmadd_ps(n, std = 1, mean = 0) is exact
    data[offset + j] = fma32(radius, cos, 0);
    data[offset + j + 8] = fma32(radius, sin, 0);
  }
}
