// Float32 emulation of the log and sincos polynomials PyTorch's AVX2 normal kernel uses (avx_mathfun.h, after
// Julien Pommier's sse_mathfun, itself the cephes logf/sinf/cosf). Every operation rounds to float32 as the
// vector instructions do. PyTorch compiles that kernel with FMA enabled and GCC contracts a multiply whose only
// use is an add into one fused multiply-add; the fusions below are the ones that reproduce torch's output bit
// for bit (checked against the rng.* goldens), so keep each fma32 where it is.

const f32 = Math.fround;

const scratch = new Float32Array(1);
const scratchBits = new Int32Array(scratch.buffer);

/** The float32 next to `r` in the direction of `toward` (r a float32, toward != r). */
function nextFloat32(r: number, toward: number): number {
  if (r === 0) {
    scratchBits[0] = 1;
    return toward > 0 ? scratch[0] : -scratch[0];
  }
  scratch[0] = r;
  // away from zero means a larger magnitude, i.e. the next bit pattern
  if (toward > r === r > 0) scratchBits[0]++;
  else scratchBits[0]--;
  return scratch[0];
}

/**
 * fmaf(a, b, c) for float32 inputs, rounded once. a*b is exact in a double; the sum's double rounding can
 * only go wrong when it lands exactly halfway between two floats, which the TwoSum error term resolves.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = f32(s);
  if (r === s) return r;
  const bv = s - p;
  const err = p - (s - bv) + (c - bv);
  if (err === 0) return r;
  const other = nextFloat32(r, s);
  if (s - r !== other - s && r - s !== s - other) return r; // not a tie: single rounding agrees
  // a tie in double, but the exact value lies on the side of err
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

const mul = (a: number, b: number): number => f32(a * b);
const add = (a: number, b: number): number => f32(a + b);
const sub = (a: number, b: number): number => f32(a - b);

const SQRTHF = f32(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);
const MIN_NORM_POS = 1.1754943508222875e-38; // 0x00800000

/** log256_ps for one lane; x > 0 here (Box-Muller's 1 - u is in (0, 1]). */
export function logAvx(x: number): number {
  if (!(x > 0)) return NaN;
  x = Math.max(x, MIN_NORM_POS);
  scratch[0] = x;
  const exponent = (scratchBits[0] >>> 23) - 0x7f;
  scratchBits[0] = (scratchBits[0] & ~0x7f800000) | 0x3f000000; // mantissa with exponent of 0.5
  x = scratch[0];
  let e = f32(exponent + 1);
  const below = x < SQRTHF;
  const tmp = below ? x : 0;
  x = sub(x, 1);
  if (below) e = sub(e, 1);
  x = add(x, tmp);

  const z = mul(x, x);
  let y = LOG_P[0];
  for (let k = 1; k < LOG_P.length; k++) y = fma32(y, x, LOG_P[k]);
  y = mul(y, x);
  y = fma32(y, z, mul(e, LOG_Q1)); // y*z + e*q1: the first multiply is the fused one
  y = fma32(-0.5, z, y); // y - z*0.5
  x = add(x, y);
  return fma32(e, LOG_Q2, x); // x + e*q2
}

const FOPI = f32(1.27323954473516); // 4 / pi
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);

/** sincos256_ps for one lane: [sin x, cos x]. */
export function sincosAvx(x: number): [number, number] {
  const sinSign = x < 0 || Object.is(x, -0) ? -1 : 1;
  x = Math.abs(x);
  let j = Math.trunc(mul(x, FOPI)) | 0; // cvttps_epi32
  j = (j + 1) & ~1;
  const y = j; // exact as float for the arguments met here
  const swapSin = (j & 4) !== 0;
  const sinPoly = (j & 2) === 0; // polynomial selection for the sine
  const cosNegative = (~(j - 2) & 4) !== 0;

  // extended precision modular arithmetic: x = ((x - y*DP1) - y*DP2) - y*DP3
  x = fma32(y, DP1, x);
  x = fma32(y, DP2, x);
  x = fma32(y, DP3, x);

  const z = mul(x, x);
  let c = COS_P[0];
  c = fma32(c, z, COS_P[1]);
  c = fma32(c, z, COS_P[2]);
  c = mul(c, z);
  c = fma32(c, z, -mul(z, 0.5)); // c*z - z*0.5
  c = add(c, 1);

  let s = SIN_P[0];
  s = fma32(s, z, SIN_P[1]);
  s = fma32(s, z, SIN_P[2]);
  s = mul(s, z);
  s = fma32(s, x, x);

  let sin = sinPoly ? s : c;
  let cos = sinPoly ? c : s;
  if (swapSin !== (sinSign < 0)) sin = -sin;
  if (cosNegative) cos = -cos;
  return [sin, cos];
}
