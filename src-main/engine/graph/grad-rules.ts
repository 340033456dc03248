// One gradient rule per op of ops.ts (tinygrad's table, for our ONNX-shaped ops). A rule gets the output
// gradient `dy`, the forward node (whose inputs and output it may reuse; under recomputation these are the
// recomputed twins) and which inputs need a gradient, and returns one gradient per input (null where not needed).
// Broadcasting in the forward is undone by ReduceSum + Reshape (unbroadcast).

import { GraphError, type Node } from './node.ts';
import * as op from './ops.ts';

export type GradRule = (dy: Node, node: Node, needs: (i: number) => boolean) => (Node | null)[];

const scalarLike = (x: Node, v: number) => op.scalar(x.graph, v, x.dtype);

/** Sums `grad` down to `shape` where the forward broadcast (leading axes, and axes of size 1). */
export function unbroadcast(grad: Node, shape: readonly number[]): Node {
  if (grad.rank === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  return op.reshape(op.reduce('ReduceSum', grad, axes, true), shape);
}

/** Zeros of a shape, as a broadcast scalar (no big constant in the model). */
export function zerosLike(like: Node, shape: readonly number[] = like.shape): Node {
  const zero = op.constantOf(like.graph, like.dtype, shape.map(() => 1), [0]);
  return op.expand(zero, shape);
}

const swapLast = (x: Node) => op.transpose(x, [...x.shape.keys()].map((i) => (i === x.rank - 2 ? x.rank - 1 : i === x.rank - 1 ? x.rank - 2 : i)));

function matmulGrad(dy: Node, node: Node, needs: (i: number) => boolean): (Node | null)[] {
  const [a, b] = node.inputs;
  const [k, n] = b.shape.slice(-2);
  let da: Node | null = null;
  let db: Node | null = null;
  if (needs(0)) da = unbroadcast(op.matmul(dy, swapLast(b)), a.shape); // [..., m, k]
  if (needs(1)) {
    if (b.rank === 2 && a.rank > 2) {
      // A linear layer: fold the batch into rows so the weight gradient is one [k, n] MatMul.
      db = op.matmul(op.transpose(op.reshape(a, [-1, k]), [1, 0]), op.reshape(dy, [-1, n])); // [k, n]
    } else db = unbroadcast(op.matmul(swapLast(a), dy), b.shape);
  }
  return [da, db];
}

function convGrad(dy: Node, node: Node, needs: (i: number) => boolean): (Node | null)[] {
  const [x, w] = node.inputs;
  const strides = node.attrs.strides as number[];
  const pads = node.attrs.pads as number[];
  const group = node.attrs.group as number;
  if (node.attrs.dilations) throw new GraphError(`Conv: no gradient rule for dilated convolutions (${node})`);
  const [, , h, wd] = x.shape;
  const [, , kh, kw] = w.shape;
  const [, , oh, ow] = dy.shape;
  // Rows/columns of the padded input that no kernel position reached (stride remainder): the transposed
  // convolution gives them back as output_padding, and the weight gradient slices them off.
  const extra = [h + pads[0] + pads[2] - (strides[0] * (oh - 1) + kh), wd + pads[1] + pads[3] - (strides[1] * (ow - 1) + kw)];
  const out: (Node | null)[] = [null, null, null];
  if (needs(0)) out[0] = op.convTranspose(dy, w, { strides, pads, group, outputPadding: extra }); // [B, Cin, H, W]
  if (needs(1)) {
    if (group !== 1) throw new GraphError(`Conv: no weight gradient rule for grouped convolutions (${node})`);
    if (kh === 1 && kw === 1 && strides.every((s) => s === 1) && pads.every((p) => p === 0)) {
      const [b, cout] = dy.shape;
      const cin = x.shape[1];
      const perSample = op.matmul(op.reshape(dy, [b, cout, -1]), op.transpose(op.reshape(x, [b, cin, -1]), [0, 2, 1])); // [B, Cout, Cin]
      out[1] = op.reshape(op.reduce('ReduceSum', perSample, [0], false), w.shape);
    } else {
      // Batch and channel roles swapped: the input's channels become the batch, dy becomes the kernel, the
      // forward stride becomes the dilation.
      const xt = op.transpose(x, [1, 0, 2, 3]); // [Cin, B, H, W]
      const dyt = op.transpose(dy, [1, 0, 2, 3]); // [Cout, B, oh, ow]
      let gw = op.conv(xt, dyt, null, { pads, dilations: strides }); // [Cin, Cout, kh + extra, kw + extra]
      gw = op.slice(op.slice(gw, 2, 0, kh), 3, 0, kw);
      out[1] = op.transpose(gw, [1, 0, 2, 3]); // [Cout, Cin, kh, kw]
    }
  }
  if (node.inputs.length === 3 && needs(2)) out[2] = op.reduce('ReduceSum', dy, [0, 2, 3], false); // [Cout]
  return out;
}

function reduceGrad(dy: Node, node: Node, mean: boolean): Node {
  const x = node.inputs[0];
  const axes = node.attrs.axes as number[];
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  let g = op.reshape(dy, kept);
  if (mean) g = op.mul(g, scalarLike(g, 1 / axes.reduce((p, a) => p * x.shape[a], 1)));
  return op.expand(g, x.shape);
}

function sliceGrad(dy: Node, node: Node): Node {
  const x = node.inputs[0];
  const ax = node.attrs.axis as number;
  const start = node.attrs.start as number;
  const end = node.attrs.end as number;
  const part = (len: number) => zerosLike(dy, x.shape.map((d, i) => (i === ax ? len : d)));
  const pieces = [start > 0 ? part(start) : null, dy, end < x.shape[ax] ? part(x.shape[ax] - end) : null];
  return op.concat(pieces.filter((p): p is Node => p !== null), ax);
}

function gatherGrad(dy: Node, node: Node): Node {
  const [table, indices] = node.inputs;
  const index = op.reshape(indices, [...indices.shape, 1]); // [..., 1]
  return op.scatterNDAdd(zerosLike(dy, table.shape), index, dy); // [N, D]
}

const unary = (f: (dy: Node, x: Node, y: Node) => Node): GradRule => (dy, node) => [f(dy, node.inputs[0], node)];

export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  Identity: unary((dy) => dy),
  Neg: unary((dy) => op.unary('Neg', dy)),
  Cast: unary((dy, x) => op.cast(dy, x.dtype)),
  Sqrt: unary((dy, _x, y) => op.div(op.mul(dy, scalarLike(dy, 0.5)), y)),
  Exp: unary((dy, _x, y) => op.mul(dy, y)),
  Log: unary((dy, x) => op.div(dy, x)),
  Reciprocal: unary((dy, _x, y) => op.unary('Neg', op.mul(dy, op.mul(y, y)))),
  Tanh: unary((dy, _x, y) => op.mul(dy, op.sub(scalarLike(y, 1), op.mul(y, y)))),
  Sigmoid: unary((dy, _x, y) => op.mul(dy, op.mul(y, op.sub(scalarLike(y, 1), y)))),
  Erf: unary((dy, x) => op.mul(dy, op.mul(scalarLike(x, 2 / Math.sqrt(Math.PI)), op.unary('Exp', op.unary('Neg', op.mul(x, x)))))),
  Sin: unary((dy, x) => op.mul(dy, op.unary('Cos', x))),
  Cos: unary((dy, x) => op.unary('Neg', op.mul(dy, op.unary('Sin', x)))),
  Add: (dy, n) => [unbroadcast(dy, n.inputs[0].shape), unbroadcast(dy, n.inputs[1].shape)],
  Sub: (dy, n, needs) => [unbroadcast(dy, n.inputs[0].shape), needs(1) ? unbroadcast(op.unary('Neg', dy), n.inputs[1].shape) : null],
  Mul: (dy, n, needs) => {
    const [a, b] = n.inputs;
    return [needs(0) ? unbroadcast(op.mul(dy, b), a.shape) : null, needs(1) ? unbroadcast(op.mul(dy, a), b.shape) : null];
  },
  Div: (dy, n, needs) => {
    const [a, b] = n.inputs;
    // d(a/b)/db = -(a/b)/b
    return [needs(0) ? unbroadcast(op.div(dy, b), a.shape) : null, needs(1) ? unbroadcast(op.unary('Neg', op.div(op.mul(dy, n), b)), b.shape) : null];
  },
  Pow: (dy, n, needs) => {
    const [a, b] = n.inputs;
    if (needs(1)) throw new GraphError(`Pow: no gradient rule for a trainable exponent (${n})`);
    return [unbroadcast(op.mul(dy, op.mul(b, op.pow(a, op.sub(b, scalarLike(b, 1))))), a.shape), null];
  },
  Where: (dy, n, needs) => {
    const [cond, a, b] = n.inputs;
    const zero = scalarLike(dy, 0);
    return [null, needs(1) ? unbroadcast(op.where(cond, dy, zero), a.shape) : null, needs(2) ? unbroadcast(op.where(cond, zero, dy), b.shape) : null];
  },
  MatMul: matmulGrad,
  Conv: convGrad,
  Reshape: unary((dy, x) => op.reshape(dy, x.shape)),
  Transpose: (dy, n) => {
    const perm = n.attrs.perm as number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [op.transpose(dy, inverse)];
  },
  Concat: (dy, n, needs) => {
    const ax = n.attrs.axis as number;
    let offset = 0;
    return n.inputs.map((x, i) => {
      const start = offset;
      offset += x.shape[ax];
      return needs(i) ? op.slice(dy, ax, start, offset) : null;
    });
  },
  Slice: (dy, n) => [sliceGrad(dy, n)],
  Expand: unary((dy, x) => unbroadcast(dy, x.shape)),
  ReduceSum: (dy, n) => [reduceGrad(dy, n, false)],
  ReduceMean: (dy, n) => [reduceGrad(dy, n, true)],
  Softmax: (dy, n) => {
    // P * (dP - rowsum(dP * P))
    const ax = n.attrs.axis as number;
    return [op.mul(n, op.sub(dy, op.reduce('ReduceSum', op.mul(dy, n), [ax], true)))];
  },
  Gather: (dy, n) => [gatherGrad(dy, n), null],
};
