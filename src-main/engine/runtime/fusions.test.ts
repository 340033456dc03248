// Which graph a provider gets: fused attention by default on the CPU provider, the plain graph when ORT refuses a
// fused op (really refused: the CPU provider has no com.microsoft.GroupNorm kernel), and never a fused op in a
// graph the gradient pass walks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from '../graph/node.ts';
import { gradients } from '../graph/gradients.ts';
import * as op from '../graph/ops.ts';
import { attention } from '../models/layers.ts';
import { buildUnetGraph } from '../models/unet.ts';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { createFusedSession, describeFallback, type Fusions } from './fusions.ts';
import { SessionCache } from './session-cache.ts';

const unet = (fusions: Fusions) => ({ eps: buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 32, width: 32, tokens: 77, ...fusions }).eps });
const hasOp = (bytes: Uint8Array, name: string) => Buffer.from(bytes).includes(name);

test('the CPU provider gets fused attention by default and reports no fallback', async () => {
  const session = await createFusedSession(unet, 'unet', { providers: ['cpu'] });
  try {
    assert.equal(session.provider, 'cpu');
    assert.ok(hasOp(session.model.bytes, 'MultiHeadAttention'));
    assert.deepEqual(session.fallbacks, []);
  } finally {
    await session.release();
  }
});

test('a fused op the provider refuses falls back to the plain graph, which matches the golden, and is reported', async () => {
  const cache = new SessionCache(4, { providers: ['cpu'], fusions: { cpu: { fusedAttention: true, fusedGroupNorm: true } } });
  try {
    const session = await cache.get('unet', (fusions) => ({ graph: new Graph(), outputs: unet(fusions) }));
    assert.equal(session.provider, 'cpu');
    assert.ok(!hasOp(session.model.bytes, 'MultiHeadAttention') && !hasOp(session.model.bytes, 'GroupNorm'), 'the plain graph runs');
    assert.equal(session.fallbacks.length, 1);
    const [fallback] = session.fallbacks;
    assert.equal(fallback.provider, 'cpu');
    assert.equal(fallback.fused, 'MultiHeadAttention, GroupNorm');
    assert.match(fallback.reason, /Could not find an implementation for GroupNorm/);
    assert.match(describeFallback(fallback), /^cpu: fused MultiHeadAttention, GroupNorm refused \(.*GroupNorm.*\); the plain graph runs instead$/);
    assert.deepEqual(cache.fallbacks, session.fallbacks);
    const out = await session.run(unetFeeds());
    const err = relativeError(out.eps.data as Float32Array, golden('unet.eps').data);
    assert.ok(err < MODULE_TOLERANCE, `unet.eps error ${err}`);
  } finally {
    await cache.clear();
  }
});

test('graphs built without options (training) use plain attention; a fused one has no gradient and says so', () => {
  for (const fusedAttention of [false, true]) {
    const g = new Graph({ fusedAttention });
    const x = g.input('x', 'float32', [1, 16, 8]);
    const w = op.constantOf(g, 'float32', [8, 8], Array.from({ length: 64 }, (_, i) => Math.sin(i)));
    const q = op.matmul(x, w);
    const loss = op.reduce('ReduceSum', attention(q, x, x, 2), [0, 1, 2], false);
    if (fusedAttention) assert.throws(() => gradients(loss, [w]), /no gradient rule for op MultiHeadAttention/);
    else assert.equal(gradients(loss, [w]).length, 1);
  }
  assert.equal(new Graph().options.fusedAttention, undefined);
});

test('a provider that cannot start is skipped with its reason, not reported as refusing the fused graph', async (t) => {
  if (process.platform === 'win32') return t.diagnostic('DirectML exists on Windows: nothing to check there');
  const session = await createFusedSession(unet, 'unet', { providers: ['dml', 'cpu'] });
  try {
    assert.equal(session.provider, 'cpu');
    assert.ok(hasOp(session.model.bytes, 'MultiHeadAttention'));
    assert.deepEqual(session.fallbacks, []);
    assert.deepEqual(session.skipped.map((s) => [s.name, s.available]), [['dml', false]]);
    assert.ok(session.skipped[0].reason.length > 0);
    t.diagnostic(`dml: ${session.skipped[0].reason}`);
  } finally {
    await session.release();
  }
});
