import assert from 'node:assert/strict';
import { test } from 'node:test';
import { graphFlops } from './graph-flops.ts';
import { Graph } from './node.ts';
import * as op from './ops.ts';

test('graphFlops counts two FLOPs per multiply-add of convolutions, matmuls and fused attention', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 8, 16, 16]);
  // 3x3 conv 8 -> 4 channels, padded: 2 * 4 * 16 * 16 outputs, 8 * 9 multiply-adds each
  const y = op.conv(x, g.input('w3', 'float32', [4, 8, 3, 3]), null, { pads: [1, 1, 1, 1] });
  // 1x1 conv 4 -> 6: 2 * 6 * 256 outputs, 4 each
  const z = op.conv(y, g.input('w1', 'float32', [6, 4, 1, 1]), null);
  // [2, 256, 6] x [6, 5]: 2 * 256 * 5 outputs, 6 each
  const t = op.matmul(op.reshape(op.transpose(z, [0, 2, 3, 1]), [2, 256, 6]), g.input('m', 'float32', [6, 5]));
  // attention of 256 queries over 7 keys, width 10: QK^T and PV are each 2 * 256 * 7 * 10 multiply-adds
  const q = g.input('q', 'float32', [2, 256, 10]);
  const kv = g.input('k', 'float32', [2, 7, 10]);
  const a = op.multiHeadAttention(q, kv, kv, 2);
  const f = graphFlops([t, a]);
  assert.equal(f.spatialConv, 2 * (2 * 4 * 256) * (8 * 9));
  assert.equal(f.pointwiseConv, 2 * (2 * 6 * 256) * 4);
  assert.equal(f.matmul, 2 * (2 * 256 * 5) * 6);
  assert.equal(f.fusedAttention, 2 * 2 * (2 * 256 * 7 * 10));
  assert.equal(f.total, f.spatialConv + f.pointwiseConv + f.matmul + f.fusedAttention);
});
