// A 3x3 convolution (stride 1, padding 1) by Winograd's minimal filtering, F(2x2, 3x3) or F(4x4, 3x3) (Lavin &
// Gray 2016), built from standard ONNX ops: the only way to cut the convolutions' multiply-adds (2.25x or 4x)
// that onnxruntime's CPU provider could run without a custom kernel. The bench measures it against the direct
// Conv (bench/scenarios/compute-ceiling.ts); the engine does not use it, because there it was slower.

import type { Node } from '../src-main/engine/graph/node.ts';
import * as op from '../src-main/engine/graph/ops.ts';

const TRANSFORMS = {
  2: {
    BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
} as const;

/**
 * x [N, C, H, W] (H, W multiples of m), w [K, C, 3, 3], bias [K] -> [N, K, H, W]. The overlapping (m+2)^2 input
 * tiles are gathered from a SpaceToDepth of the padded input (each tile is four shifted block grids), transformed
 * by one MatMul, multiplied per tile element by the transformed weights (one batched MatMul over the (m+2)^2
 * elements: the real work), transformed back by one MatMul and put in place by DepthToSpace.
 */
export function winogradConv3x3(x: Node, w: Node, bias: Node, m: 2 | 4): Node {
  const g = x.graph;
  const { BT, G, AT } = TRANSFORMS[m];
  const [n, c, h, wd] = x.shape;
  const k = w.shape[0];
  const t = m + 2;
  const th = h / m;
  const tw = wd / m;
  const tiles = n * th * tw;
  const pads = op.constantOf(g, 'int64', [8], [0, 0, 1, 1, 0, 0, m * (th + 1) - h - 1, m * (tw + 1) - wd - 1]);
  const padded = g.node('Pad', x.dtype, [n, c, m * (th + 1), m * (tw + 1)], [x, pads]);
  const blocks = op.reshape(g.node('SpaceToDepth', x.dtype, [n, m * m * c, th + 1, tw + 1], [padded], { blocksize: m }), [n, m * m, c, th + 1, tw + 1]);
  const parts: Node[] = [];
  const coords: [number, number][] = []; // tile row and column of each gathered element, in order
  for (const di of [0, 1]) {
    for (const dj of [0, 1]) {
      const shifted = op.slice(op.slice(blocks, 3, di, di + th), 4, dj, dj + tw);
      const picked: number[] = [];
      for (let bh = 0; bh < m; bh++) {
        for (let bw = 0; bw < m; bw++) {
          if (di * m + bh < t && dj * m + bw < t) {
            picked.push(bh * m + bw);
            coords.push([di * m + bh, dj * m + bw]);
          }
        }
      }
      const indices = op.constantOf(g, 'int64', [picked.length], picked);
      parts.push(picked.length === m * m ? shifted : g.node('Gather', x.dtype, [n, picked.length, c, th, tw], [shifted, indices], { axis: 1 }));
    }
  }
  const gathered = op.concat(parts, 1); // [N, t*t, C, th, tw]
  const d = op.reshape(n === 1 ? gathered : op.transpose(gathered, [1, 2, 0, 3, 4]), [t * t, c * tiles]);
  const inputTransform = new Float32Array(t ** 4);
  for (let a = 0; a < t; a++) {
    for (let b = 0; b < t; b++) coords.forEach(([r, s], j) => (inputTransform[(a * t + b) * t * t + j] = BT[a][r] * BT[b][s]));
  }
  const v = op.reshape(op.matmul(op.constantOf(g, x.dtype, [t * t, t * t], inputTransform), d), [t * t, c, tiles]);
  const weightTransform = new Float32Array(t * t * 9);
  for (let a = 0; a < t; a++) {
    for (let b = 0; b < t; b++) for (let i = 0; i < 9; i++) weightTransform[(a * t + b) * 9 + i] = G[a][Math.floor(i / 3)] * G[b][i % 3];
  }
  const u = op.reshape(op.matmul(op.constantOf(g, x.dtype, [t * t, 9], weightTransform), op.reshape(op.transpose(w, [2, 3, 0, 1]), [9, k * c])), [t * t, k, c]);
  const products = op.reshape(op.matmul(u, v), [t * t, k * tiles]);
  const outputTransform = new Float32Array(m * m * t * t);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) for (let r = 0; r < t * t; r++) outputTransform[(a * m + b) * t * t + r] = AT[a][Math.floor(r / t)] * AT[b][r % t];
  }
  const y = op.matmul(op.constantOf(g, x.dtype, [m * m, t * t], outputTransform), products); // [m*m, K * tiles]
  const depth = n === 1 ? op.reshape(y, [1, m * m * k, th, tw]) : op.reshape(op.transpose(op.reshape(y, [m * m, k, n, th, tw]), [2, 0, 1, 3, 4]), [n, m * m * k, th, tw]);
  const out = g.node('DepthToSpace', x.dtype, [n, k, h, wd], [depth], { blocksize: m, mode: 'DCR' });
  return op.add(out, op.reshape(bias, [1, k, 1, 1]));
}
