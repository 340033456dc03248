import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGradient, type CheckInput } from './grad-rules-check.test-support.ts';
import { GRAD_RULES } from './grad-rules.ts';
import { gradients } from './gradients.ts';
import { Graph, type Node } from './node.ts';
import * as op from './ops.ts';

const s = (x: Node, v: number) => op.scalar(x.graph, v, x.dtype);

// float64 finite differences: exact to ~1e-8, so the rules must agree to 1e-6.
const F64_TOLERANCE = 1e-6;
// float32 (ops whose ORT kernels are float-only): step 1e-2, linear ops have no truncation error.
const F32_TOLERANCE = 2e-3;

async function expectGrad(name: string, f: (...xs: Node[]) => Node, inputs: CheckInput[], opts: { dtype?: 'float32' | 'float64'; tolerance?: number; step?: number } = {}) {
  const dtype = opts.dtype ?? 'float64';
  const { error, checked } = await checkGradient(f, inputs, { dtype, step: opts.step });
  const tolerance = opts.tolerance ?? (dtype === 'float64' ? F64_TOLERANCE : F32_TOLERANCE);
  assert.ok(checked > 0, `${name}: nothing checked`);
  measured.push(`${name} ${error.toExponential(1)}`);
  assert.ok(error < tolerance, `${name}: finite-difference error ${error.toExponential(2)} (tolerance ${tolerance})`);
}

const positive: [number, number] = [0.5, 2];
const measured: string[] = [];

test('elementwise binary ops, with broadcasting undone by ReduceSum + Reshape', async () => {
  const shapes: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [3, 1]],
    [[1, 4], [2, 3, 4]],
    [[2, 1, 4], [3, 1]],
  ];
  for (const [a, b] of shapes) {
    await expectGrad(`Add [${a}] [${b}]`, op.add, [{ shape: a }, { shape: b }]);
    await expectGrad(`Sub [${a}] [${b}]`, op.sub, [{ shape: a }, { shape: b }]);
    await expectGrad(`Mul [${a}] [${b}]`, op.mul, [{ shape: a }, { shape: b }]);
    await expectGrad(`Div [${a}] [${b}]`, op.div, [{ shape: a }, { shape: b, range: positive }]);
  }
});

test('Pow with a constant exponent; a trainable exponent fails naming the op', async () => {
  for (const e of [2, 3, 0.5, -1.5]) {
    await expectGrad(`Pow ${e}`, (x) => op.pow(x, s(x, e)), [{ shape: [3, 4], range: positive }]);
  }
  const g = new Graph();
  const [a, b] = [g.input('a', 'float32', [2]), g.input('b', 'float32', [2])];
  const loss = op.reduce('ReduceSum', op.pow(a, b), [0], false);
  assert.throws(() => gradients(loss, [b]), /Pow: no gradient rule for a trainable exponent/);
});

test('unary ops', async () => {
  const cases: [string, (x: Node) => Node, [number, number]?][] = [
    ['Neg', (x) => op.unary('Neg', x)],
    ['Sqrt', (x) => op.unary('Sqrt', x), positive],
    ['Exp', (x) => op.unary('Exp', x)],
    ['Log', (x) => op.unary('Log', x), positive],
    ['Tanh', (x) => op.unary('Tanh', x)],
    ['Sigmoid', (x) => op.unary('Sigmoid', x)],
    ['Sin', (x) => op.unary('Sin', x)],
    ['Cos', (x) => op.unary('Cos', x)],
    ['Reciprocal', (x) => op.unary('Reciprocal', x), positive],
    ['Identity', (x) => op.unary('Identity', op.mul(x, x))],
  ];
  for (const [name, f, range] of cases) await expectGrad(name, f, [{ shape: [2, 5], range }]);
  await expectGrad('Erf', (x) => op.unary('Erf', x), [{ shape: [2, 5], range: [-2, 2] }], { dtype: 'float32' });
  // A float32 stretch inside a float64 function: the step must dwarf float32 rounding.
  const cast = (x: Node) => op.cast(op.unary('Exp', op.cast(x, 'float32')), 'float64');
  await expectGrad('Cast', cast, [{ shape: [2, 3] }], { step: 1e-3, tolerance: 1e-4 });
});

test('MatMul: plain, batched, broadcast batch, rank-2 weight on a batch (linear layer)', async () => {
  const cases: [number[], number[]][] = [
    [[3, 4], [4, 5]],
    [[2, 3, 4], [2, 4, 5]],
    [[2, 3, 4], [4, 5]],
    [[2, 1, 3, 4], [3, 4, 2]],
    [[3, 4], [2, 4, 5]],
  ];
  for (const [a, b] of cases) await expectGrad(`MatMul [${a}] x [${b}]`, op.matmul, [{ shape: a }, { shape: b }]);
});

test('shape ops: Reshape, Transpose, Concat, Slice, Expand', async () => {
  await expectGrad('Reshape', (x) => op.mul(op.reshape(x, [3, 8]), op.reshape(x, [3, 8])), [{ shape: [2, 3, 4] }]);
  await expectGrad('Transpose', (x, y) => op.mul(op.transpose(x, [2, 0, 1]), y), [{ shape: [2, 3, 4] }, { shape: [4, 2, 3] }]);
  await expectGrad('Concat', (x, y) => op.mul(op.concat([x, y, x], 1), op.concat([y, x, y], 1)), [{ shape: [2, 3, 2] }, { shape: [2, 3, 2] }]);
  await expectGrad('Slice (middle, start, end)', (x) => op.concat([op.slice(x, 1, 1, 3), op.slice(x, 1, 0, 1), op.slice(op.mul(x, x), 1, 2, 4)], 1), [{ shape: [2, 4, 3] }]);
  await expectGrad('Expand', (x) => op.mul(op.expand(x, [2, 3, 4]), op.expand(x, [2, 3, 4])), [{ shape: [3, 1] }]);
});

test('reductions and softmax', async () => {
  await expectGrad('ReduceSum keepdims', (x) => op.mul(op.reduce('ReduceSum', x, [1], true), x), [{ shape: [2, 3, 4] }]);
  await expectGrad('ReduceSum dropped axes', (x) => op.unary('Exp', op.reduce('ReduceSum', x, [0, 2], false)), [{ shape: [2, 3, 4] }]);
  await expectGrad('ReduceMean', (x) => op.mul(op.reduce('ReduceMean', x, [2], true), x), [{ shape: [2, 3, 4] }]);
  await expectGrad('Softmax last axis', (x) => op.softmax(x, -1), [{ shape: [2, 3, 5] }]);
  await expectGrad('Softmax inner axis', (x) => op.softmax(x, 1), [{ shape: [2, 3, 5] }]);
});

test('Gather: table gradient accumulates repeated indices (ScatterND add)', async () => {
  const ids: CheckInput = { shape: [2, 3], dtype: 'int64', fixed: true, values: [1, 4, 1, 0, 4, 4] };
  await expectGrad('Gather', (table, i) => op.gather(table, i), [{ shape: [5, 3] }, ids]);
});

test('Where: gradient goes to the chosen branch only', async () => {
  const g = (a: Node, b: Node, c: Node) => op.where(op.isNan(op.unary('Log', c)), a, b);
  // log of a negative number is NaN: the sign of c picks the branch.
  await expectGrad('Where', g, [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 3], fixed: true, values: [1, -1, 2, -2, 3, 1] }]);
});

const CONV_CASES: { name: string; x: number[]; w: number[]; strides?: number[]; pads?: number[]; bias?: boolean }[] = [
  { name: '3x3 pad 1', x: [2, 3, 6, 6], w: [4, 3, 3, 3], pads: [1, 1, 1, 1], bias: true },
  { name: '3x3 stride 2 pad 1, even size', x: [2, 2, 8, 8], w: [3, 2, 3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  { name: '3x3 stride 2 pad 1, odd size', x: [1, 2, 7, 9], w: [3, 2, 3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  { name: '3x3 stride 2, asymmetric pad (0, 0, 1, 1)', x: [1, 2, 8, 8], w: [2, 2, 3, 3], strides: [2, 2], pads: [0, 0, 1, 1], bias: true },
  { name: '1x1', x: [2, 5, 4, 4], w: [3, 5, 1, 1], bias: true },
  { name: '2x3 no pad', x: [1, 2, 5, 6], w: [2, 2, 2, 3] },
];

for (const c of CONV_CASES) {
  test(`Conv ${c.name}: input (ConvTranspose), weight (swapped-role Conv) and bias gradients`, async () => {
    const inputs: CheckInput[] = [{ shape: c.x }, { shape: c.w }];
    if (c.bias) inputs.push({ shape: [c.w[0]] });
    const f = (x: Node, w: Node, b?: Node) => op.conv(x, w, b ?? null, { strides: c.strides, pads: c.pads });
    await expectGrad(`Conv ${c.name}`, f, inputs, { dtype: 'float32' });
  });
}

test('composites from layers (GroupNorm pattern, attention, GELU, SiLU, nearest upsampling) differentiate end to end', async () => {
  const { attention, gelu, silu, upsampleNearest2x } = await import('../models/layers.ts');
  const norm = (x: Node) => {
    const mean = op.reduce('ReduceMean', x, [2]);
    const d = op.sub(x, mean);
    const variance = op.reduce('ReduceMean', op.pow(d, s(x, 2)), [2]);
    return op.div(d, op.unary('Sqrt', op.add(variance, s(x, 1e-5))));
  };
  await expectGrad('normalisation', norm, [{ shape: [2, 3, 5] }]);
  // attention's softmax runs in float32 whatever the graph's dtype
  await expectGrad('attention', (q, k, v) => attention(q, k, v, 2), [{ shape: [2, 3, 4] }, { shape: [2, 5, 4] }, { shape: [2, 5, 4] }], { step: 1e-3, tolerance: 1e-4 });
  await expectGrad('silu', silu, [{ shape: [3, 4], range: [-3, 3] }]);
  await expectGrad('gelu', gelu, [{ shape: [3, 4], range: [-3, 3] }], { dtype: 'float32' });
  await expectGrad('upsample', (x) => op.mul(upsampleNearest2x(x), upsampleNearest2x(x)), [{ shape: [1, 2, 2, 3] }]);
});

test('only the path from the loss to the parameters is differentiated; missing rules name the op', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const w = g.input('w', 'float32', [3]);
  const frozen = g.input('frozen', 'float32', [2, 3]);
  // ReduceMax has no rule, but it only touches `frozen`, which no parameter reaches.
  const offPath = op.reduce('ReduceMax', frozen, [1], true);
  const loss = op.reduce('ReduceSum', op.mul(op.add(op.mul(x, w), offPath), w), [0, 1], false);
  const [gw] = gradients(loss, [w]);
  assert.deepEqual(gw.shape, [3]);
  const unused = g.input('unused', 'float32', [4]);
  const [gu] = gradients(loss, [unused]);
  assert.deepEqual(gu.shape, [4]);
  const onPath = op.reduce('ReduceSum', op.reduce('ReduceMax', op.mul(x, w), [1], true), [0, 1], false);
  assert.throws(() => gradients(onPath, [w]), /no gradient rule for op ReduceMax/);
});

// Runs last (node runs a file's tests in order): every op with a gradient rule was measured above on its own.
test('every gradient rule was checked against finite differences (the measured errors are reported)', (t) => {
  for (const line of measured) t.diagnostic(line);
  const measuredOps = new Set(measured.map((line) => line.split(' ')[0]));
  assert.deepEqual(Object.keys(GRAD_RULES).filter((name) => !measuredOps.has(name)), []);
});
