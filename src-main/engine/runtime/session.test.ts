import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { ModelSession, ResidentTensor } from './session.ts';

// Training feeds each step's state outputs back as the next step's inputs without reading them (runResident);
// here a state x -> 0.5 x + c runs three times that way and is compared with the same arithmetic done by hand.
test('resident outputs are fed back as they are and read to host memory only when asked', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const c = g.input('c', 'float32', [3]);
  const next = op.add(op.mul(x, op.scalar(g, 0.5)), c);
  const session = await ModelSession.create(emitOnnx({ x_out: next, total: op.reduce('ReduceSum', next, [0], false) }), { providers: ['cpu'], residentOutputs: ['x_out'] });
  try {
    let state = ResidentTensor.fromHost([3], Float32Array.of(4, -2, 8));
    const expected = [4, -2, 8];
    const cValues = [1, 0.25, -3];
    for (let step = 0; step < 3; step++) {
      const { host, resident } = await session.runResident({ x: state, c: { dtype: 'float32', shape: [3], data: Float32Array.from(cValues) } });
      expected.forEach((v, i) => (expected[i] = 0.5 * v + cValues[i]));
      assert.deepEqual(Object.keys(resident), ['x_out'], 'only the resident output stays resident');
      assert.ok(Math.abs(Number(host.total.data[0]) - expected.reduce((a, b) => a + b)) < 1e-6);
      state.dispose();
      state = resident.x_out;
    }
    assert.equal(state.onDevice, false, 'the CPU provider keeps it in a host tensor');
    const values = await state.read();
    assert.deepEqual(Array.from(values), expected);
    assert.equal(await state.read(), values, 'a host tensor is read without a copy');
  } finally {
    await session.release();
  }
});
