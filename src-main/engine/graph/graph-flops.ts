// Floating-point work of a built graph, counted from its nodes' shapes: the arithmetic a provider must do for one
// run, whatever its kernels. The bench divides it by the machine's measured multiply-add rate to get the
// shortest time one run can take there (bench/scenarios/compute-ceiling.ts).

import { type Node, topologicalOrder } from './node.ts';

export interface GraphFlops {
  /** 3x3 (and larger) convolutions. */
  spatialConv: number;
  /** 1x1 convolutions. */
  pointwiseConv: number;
  /** MatMul, including the plain attention's QK^T and PV. */
  matmul: number;
  /** The fused attention's QK^T and PV (`com.microsoft.MultiHeadAttention`). */
  fusedAttention: number;
  total: number;
}

/** Two FLOPs per multiply-add of every Conv, MatMul and fused attention (elementwise work is not counted). */
export function graphFlops(outputs: readonly Node[]): GraphFlops {
  const f = { spatialConv: 0, pointwiseConv: 0, matmul: 0, fusedAttention: 0 };
  for (const n of topologicalOrder(outputs)) {
    if (n.op === 'Conv') {
      const [, cinPerGroup, kh, kw] = n.inputs[1].shape;
      const flops = 2 * n.size * cinPerGroup * kh * kw;
      if (kh * kw === 1) f.pointwiseConv += flops;
      else f.spatialConv += flops;
    } else if (n.op === 'MatMul') {
      const a = n.inputs[0].shape;
      f.matmul += 2 * n.size * a[a.length - 1];
    } else if (n.op === 'MultiHeadAttention') {
      // q [B, Tq, hidden], k [B, Tk, hidden]: QK^T and PV are each B * Tq * Tk * hidden multiply-adds.
      const [b, tq, hidden] = n.inputs[0].shape;
      const tk = n.inputs[1].shape[1];
      f.fusedAttention += 2 * 2 * b * tq * tk * hidden;
    }
  }
  return { ...f, total: f.spatialConv + f.pointwiseConv + f.matmul + f.fusedAttention };
}
