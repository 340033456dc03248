// Every op the graph builder knows, with its shape inference. Each op maps 1:1 onto an ONNX operator (opset 17)
// so the emitter stays trivial and each op gets exactly one gradient rule (gradients.ts). Composite layers
// (GroupNorm, attention, GELU...) are built from these in layers.ts, so they need no rules of their own.

import { BYTES_PER_ELEMENT, type DataType, isFloat } from './dtype.ts';
import { type Attrs, type Graph, GraphError, Node } from './node.ts';

function fail(op: string, message: string): never {
  throw new GraphError(`${op}: ${message}`);
}

export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) fail(op, `cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function sameDtype(op: string, nodes: readonly Node[]): DataType {
  const dtype = nodes[0].dtype;
  for (const n of nodes) if (n.dtype !== dtype) fail(op, `mixed dtypes ${nodes.map((x) => x.dtype).join(', ')}`);
  return dtype;
}

function axis(op: string, a: number, rank: number): number {
  const r = a < 0 ? a + rank : a;
  if (r < 0 || r >= rank) fail(op, `axis ${a} out of range for rank ${rank}`);
  return r;
}

// ---- constants -------------------------------------------------------------------------------------

export function constantOf(g: Graph, dtype: DataType, shape: readonly number[], values: ArrayLike<number>, hint = ''): Node {
  const n = shape.reduce((x, y) => x * y, 1);
  if (values.length !== n) fail('Constant', `${values.length} values for shape [${shape}]`);
  let bytes: Uint8Array;
  if (dtype === 'float32') bytes = new Uint8Array(Float32Array.from(values).buffer);
  else if (dtype === 'int64') bytes = new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  else if (dtype === 'int32') bytes = new Uint8Array(Int32Array.from(values).buffer);
  else if (dtype === 'float64') bytes = new Uint8Array(Float64Array.from(values).buffer);
  else if (dtype === 'float16') bytes = new Uint8Array(toHalf(values).buffer);
  else if (dtype === 'bool' || dtype === 'uint8') bytes = Uint8Array.from(values);
  else fail('Constant', `cannot build ${dtype} constants`);
  if (bytes.byteLength !== n * BYTES_PER_ELEMENT[dtype]) fail('Constant', 'byte length mismatch');
  return g.constant(dtype, shape, bytes, hint);
}

export function scalar(g: Graph, value: number, dtype: DataType = 'float32'): Node {
  return constantOf(g, dtype, [], [value]);
}

/** float32 -> IEEE half, round to nearest even. */
export function toHalf(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
  }
  return out;
}

// ---- elementwise -----------------------------------------------------------------------------------

export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow';
export type UnaryOp = 'Neg' | 'Sqrt' | 'Exp' | 'Log' | 'Tanh' | 'Sigmoid' | 'Erf' | 'Sin' | 'Cos' | 'Reciprocal' | 'Abs' | 'Relu' | 'Identity';

export function binary(op: BinaryOp, a: Node, b: Node): Node {
  const dtype = sameDtype(op, [a, b]);
  return a.graph.node(op, dtype, broadcastShapes(op, a.shape, b.shape), [a, b]);
}

export function unary(op: UnaryOp, a: Node): Node {
  if (op !== 'Identity' && op !== 'Neg' && op !== 'Abs' && op !== 'Relu' && !isFloat(a.dtype)) fail(op, `needs a float input, got ${a.dtype}`);
  return a.graph.node(op, a.dtype, a.shape, [a]);
}

export const add = (a: Node, b: Node) => binary('Add', a, b);
export const sub = (a: Node, b: Node) => binary('Sub', a, b);
export const mul = (a: Node, b: Node) => binary('Mul', a, b);
export const div = (a: Node, b: Node) => binary('Div', a, b);
export const pow = (a: Node, b: Node) => binary('Pow', a, b);

export function cast(a: Node, to: DataType): Node {
  if (a.dtype === to) return a;
  return a.graph.node('Cast', to, a.shape, [a], { to });
}

export function where(cond: Node, a: Node, b: Node): Node {
  if (cond.dtype !== 'bool') fail('Where', 'condition must be bool');
  const dtype = sameDtype('Where', [a, b]);
  const shape = broadcastShapes('Where', broadcastShapes('Where', cond.shape, a.shape), b.shape);
  return a.graph.node('Where', dtype, shape, [cond, a, b]);
}

// ---- linear algebra --------------------------------------------------------------------------------

/** numpy-style matmul with batch broadcasting; both operands at least rank 2. */
export function matmul(a: Node, b: Node): Node {
  const dtype = sameDtype('MatMul', [a, b]);
  if (a.rank < 2 || b.rank < 2) fail('MatMul', `needs rank >= 2, got [${a.shape}] x [${b.shape}]`);
  const [m, k] = a.shape.slice(-2);
  const [k2, n] = b.shape.slice(-2);
  if (k !== k2) fail('MatMul', `inner dimensions differ: [${a.shape}] x [${b.shape}]`);
  const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  return a.graph.node('MatMul', dtype, [...batch, m, n], [a, b]);
}

export interface ConvOptions {
  strides?: readonly number[];
  pads?: readonly number[]; // [top, left, bottom, right]
  group?: number;
  /** Kernel dilation; only the weight gradient of a strided Conv uses it (gradients.ts). */
  dilations?: readonly number[];
}

function dilationAttrs(dilations: readonly number[] | undefined): Attrs {
  return dilations && dilations.some((d) => d !== 1) ? { dilations } : {};
}

/** 2-D convolution. x [B, Cin, H, W], w [Cout, Cin/group, kh, kw], optional bias [Cout]. */
export function conv(x: Node, w: Node, bias: Node | null, opts: ConvOptions = {}): Node {
  const dtype = sameDtype('Conv', bias ? [x, w, bias] : [x, w]);
  const strides = opts.strides ?? [1, 1];
  const pads = opts.pads ?? [0, 0, 0, 0];
  const group = opts.group ?? 1;
  const dil = opts.dilations ?? [1, 1];
  if (x.rank !== 4 || w.rank !== 4) fail('Conv', `needs rank-4 input and weight, got [${x.shape}] and [${w.shape}]`);
  const [b, cin, h, wd] = x.shape;
  const [cout, cpg, kh, kw] = w.shape;
  if (cin !== cpg * group) fail('Conv', `input has ${cin} channels, weight [${w.shape}] expects ${cpg * group}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) fail('Conv', `bias [${bias.shape}] does not match ${cout} outputs`);
  const oh = Math.floor((h + pads[0] + pads[2] - (dil[0] * (kh - 1) + 1)) / strides[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - (dil[1] * (kw - 1) + 1)) / strides[1]) + 1;
  if (oh <= 0 || ow <= 0) fail('Conv', `input ${h}x${wd} too small for kernel ${kh}x${kw}`);
  const attrs: Attrs = { strides, pads, group, kernel_shape: [kh, kw], ...dilationAttrs(opts.dilations) };
  return x.graph.node('Conv', dtype, [b, cout, oh, ow], bias ? [x, w, bias] : [x, w], attrs);
}

/** Transposed 2-D convolution (the input-gradient of Conv). w [Cin, Cout/group, kh, kw]. */
export function convTranspose(x: Node, w: Node, opts: ConvOptions & { outputPadding?: readonly number[] } = {}): Node {
  const dtype = sameDtype('ConvTranspose', [x, w]);
  const strides = opts.strides ?? [1, 1];
  const pads = opts.pads ?? [0, 0, 0, 0];
  const group = opts.group ?? 1;
  const outPad = opts.outputPadding ?? [0, 0];
  const [b, cin, h, wd] = x.shape;
  const [wcin, cpg, kh, kw] = w.shape;
  if (cin !== wcin) fail('ConvTranspose', `input has ${cin} channels, weight [${w.shape}] expects ${wcin}`);
  const oh = strides[0] * (h - 1) + outPad[0] + kh - pads[0] - pads[2];
  const ow = strides[1] * (wd - 1) + outPad[1] + kw - pads[1] - pads[3];
  const attrs: Attrs = { strides, pads, group, kernel_shape: [kh, kw], output_padding: outPad };
  return x.graph.node('ConvTranspose', dtype, [b, cpg * group, oh, ow], [x, w], attrs);
}

// ---- shape ops -------------------------------------------------------------------------------------

export function reshape(x: Node, shape: readonly number[]): Node {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = shape.map((d) => (d === -1 ? x.size / known : d));
  if (out.reduce((a, b) => a * b, 1) !== x.size || out.some((d) => !Number.isInteger(d))) {
    fail('Reshape', `cannot reshape [${x.shape}] to [${shape}]`);
  }
  if (out.every((d, i) => d === x.shape[i]) && out.length === x.rank) return x;
  return x.graph.node('Reshape', x.dtype, out, [x], { shape: out });
}

export function transpose(x: Node, perm: readonly number[]): Node {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) fail('Transpose', `bad perm [${perm}] for rank ${x.rank}`);
  if (perm.every((p, i) => p === i)) return x;
  return x.graph.node('Transpose', x.dtype, perm.map((p) => x.shape[p]), [x], { perm });
}

export function concat(xs: readonly Node[], ax: number): Node {
  if (xs.length === 1) return xs[0];
  const dtype = sameDtype('Concat', xs);
  const a = axis('Concat', ax, xs[0].rank);
  const shape = [...xs[0].shape];
  shape[a] = 0;
  for (const x of xs) {
    if (x.rank !== shape.length || x.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      fail('Concat', `shapes ${xs.map((n) => `[${n.shape}]`).join(' ')} differ off axis ${ax}`);
    }
    shape[a] += x.shape[a];
  }
  return xs[0].graph.node('Concat', dtype, shape, xs, { axis: a });
}

/** x[..., start:end, ...] along one axis (step 1). */
export function slice(x: Node, ax: number, start: number, end: number): Node {
  const a = axis('Slice', ax, x.rank);
  const dim = x.shape[a];
  const s = Math.max(0, Math.min(dim, start < 0 ? start + dim : start));
  const e = Math.max(s, Math.min(dim, end < 0 ? end + dim : end));
  if (s === 0 && e === dim) return x;
  const shape = [...x.shape];
  shape[a] = e - s;
  return x.graph.node('Slice', x.dtype, shape, [x], { axis: a, start: s, end: e });
}

export function expand(x: Node, shape: readonly number[]): Node {
  const out = broadcastShapes('Expand', x.shape, shape);
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x;
  return x.graph.node('Expand', x.dtype, out, [x], { shape: out });
}

/**
 * `data` with `updates` added at the positions `indices` [..., k] name (ScatterND, reduction 'add': repeated
 * indices accumulate). The gradient of Gather uses it.
 */
export function scatterNDAdd(data: Node, indices: Node, updates: Node): Node {
  const dtype = sameDtype('ScatterND', [data, updates]);
  if (indices.dtype !== 'int64') fail('ScatterND', 'indices must be int64');
  const k = indices.shape[indices.rank - 1];
  const expected = [...indices.shape.slice(0, -1), ...data.shape.slice(k)];
  if (updates.rank !== expected.length || updates.shape.some((d, i) => d !== expected[i])) {
    fail('ScatterND', `updates [${updates.shape}] do not match [${expected}] for data [${data.shape}] and indices [${indices.shape}]`);
  }
  return data.graph.node('ScatterND', dtype, data.shape, [data, indices, updates], { reduction: 'add' });
}

/** Elementwise NaN test (bool); the loss scaler's overflow check. */
export function isNan(x: Node): Node {
  if (!isFloat(x.dtype)) fail('IsNaN', `needs a float input, got ${x.dtype}`);
  return x.graph.node('IsNaN', 'bool', x.shape, [x]);
}

/** Rows of `table` [N, D] picked by int64 `indices` (any shape): result [...indices, D]. */
export function gather(table: Node, indices: Node): Node {
  if (indices.dtype !== 'int64') fail('Gather', 'indices must be int64');
  return table.graph.node('Gather', table.dtype, [...indices.shape, ...table.shape.slice(1)], [table, indices], { axis: 0 });
}

// ---- reductions ------------------------------------------------------------------------------------

export type ReduceOp = 'ReduceSum' | 'ReduceMean' | 'ReduceMax';

export function reduce(op: ReduceOp, x: Node, axes: readonly number[], keepdims = true): Node {
  const norm = [...new Set(axes.map((a) => axis(op, a, x.rank)))].sort((p, q) => p - q);
  if (norm.length === 0) return x;
  const shape = keepdims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
  return x.graph.node(op, x.dtype, shape, [x], { axes: norm, keepdims: keepdims ? 1 : 0 });
}

export function softmax(x: Node, ax = -1): Node {
  const a = axis('Softmax', ax, x.rank);
  return x.graph.node('Softmax', x.dtype, x.shape, [x], { axis: a });
}

/** Shape equality check used by model code to fail early with a named weight. */
export function expectShape(what: string, n: Node, shape: readonly number[]): Node {
  if (n.rank !== shape.length || n.shape.some((d, i) => shape[i] !== -1 && d !== shape[i])) {
    throw new GraphError(`${what}: expected shape [${shape}], got [${n.shape}]`);
  }
  return n;
}

// ---- fused (inference only) ------------------------------------------------------------------------

/** Ops of ORT's `com.microsoft` domain: the emitter tags them with that domain and imports its opset. */
export const CONTRIB_OPS: ReadonlySet<string> = new Set(['MultiHeadAttention', 'GroupNorm']);

/**
 * ORT's fused attention (`com.microsoft.MultiHeadAttention`): q [B, Tq, heads*d], k/v [B, Tk, heads*d] ->
 * [B, Tq, heads*d], scaled by 1/sqrt(d). It never materialises the [B, heads, Tq, Tk] scores in full. It has no
 * gradient rule on purpose: training graphs are built with the plain attention (layers.ts).
 */
export function multiHeadAttention(q: Node, k: Node, v: Node, heads: number): Node {
  const dtype = sameDtype('MultiHeadAttention', [q, k, v]);
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3) fail('MultiHeadAttention', `needs rank-3 q, k, v, got [${q.shape}], [${k.shape}], [${v.shape}]`);
  const [b, tq, inner] = q.shape;
  if (k.shape[0] !== b || v.shape[0] !== b || k.shape[1] !== v.shape[1] || k.shape[2] !== inner || v.shape[2] !== inner) {
    fail('MultiHeadAttention', `q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit together`);
  }
  if (inner % heads !== 0) fail('MultiHeadAttention', `width ${inner} not divisible by ${heads} heads`);
  return q.graph.node('MultiHeadAttention', dtype, [b, tq, inner], [q, k, v], { num_heads: heads });
}

/**
 * ORT's fused GroupNorm (`com.microsoft.GroupNorm`, channels last): x [B, H, W, C], gamma/beta [C] float32 ->
 * [B, H, W, C]. CUDA and DirectML have kernels for it; the CPU provider has none and refuses the model.
 */
export function fusedGroupNorm(x: Node, gamma: Node, beta: Node, groups: number, eps: number): Node {
  if (x.rank !== 4) fail('GroupNorm', `needs a rank-4 channels-last input, got [${x.shape}]`);
  const c = x.shape[3];
  if (c % groups !== 0) fail('GroupNorm', `${c} channels in ${groups} groups`);
  for (const p of [gamma, beta]) if (p.rank !== 1 || p.shape[0] !== c || p.dtype !== 'float32') fail('GroupNorm', `scale/bias must be float32 [${c}], got ${p}`);
  return x.graph.node('GroupNorm', x.dtype, x.shape, [x, gamma, beta], { groups, epsilon: eps, activation: 0, channels_last: 1 });
}
