import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { buildClipTextGraph, detectClipText } from './clip-text.ts';

test('CLIP text config is read from the weights', () => {
  const cfg = detectClipText(fixtureFile('tiny-sd15.safetensors'));
  assert.deepEqual({ width: cfg.width, layers: cfg.layers, vocab: cfg.vocab, positions: cfg.positions }, { width: 32, layers: 2, vocab: 49408, positions: 77 });
});

test('CLIP text encoder reproduces text.hidden and text.hidden_skip2', async () => {
  const { outputs } = buildClipTextGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2 });
  const session = await ModelSession.create(emitOnnx({ hidden: outputs.hidden, skip2: outputs.hiddenSkip2 }), { providers: ['cpu'] });
  const ids = golden('text.ids');
  const result = await session.run({ input_ids: { dtype: 'int64', shape: [2, 77], data: BigInt64Array.from(ids.data, (v) => BigInt(v)) } });
  const e1 = relativeError(result.hidden.data as Float32Array, golden('text.hidden').data);
  const e2 = relativeError(result.skip2.data as Float32Array, golden('text.hidden_skip2').data);
  assert.ok(e1 < MODULE_TOLERANCE, `text.hidden error ${e1}`);
  assert.ok(e2 < MODULE_TOLERANCE, `text.hidden_skip2 error ${e2}`);
  await session.release();
});
