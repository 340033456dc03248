import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { buildCnxsUnetGraph, detectCnxs, groupsLeq32 } from './cnxs.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const opts = { batch: 2, height: 32, width: 32, tokens: 77 };

async function eps(weight: number, compute: DataType = 'float32'): Promise<Float32Array> {
  const cnxs = openTensorFile(fixture('tiny-cnxs.ckpt'));
  try {
    const { eps: out, graph } = buildCnxsUnetGraph(fixtureFile('tiny-sd15.safetensors'), cnxs, { ...opts, compute });
    assert.deepEqual(graph.inputs.map((n) => n.attrs.name), ['sample', 'timestep', 'context', 'hint', 'weight']);
    const session = await ModelSession.create(emitOnnx({ eps: out }), { providers: ['cpu'] });
    try {
      const hint = golden('cnxs.hint', 'control.safetensors');
      const result = await session.run({ ...unetFeeds(), hint: f32(hint.shape, hint.data), weight: f32([1], Float32Array.of(weight)) });
      assert.deepEqual(result.eps.shape, [2, 4, 32, 32]);
      return result.eps.data as Float32Array;
    } finally {
      await session.release();
    }
  } finally {
    cnxs.close();
  }
}

test('group counts follow find_denominator(c, 32)', () => {
  assert.deepEqual([16, 32, 64, 96, 384, 40, 50].map(groupsLeq32), [16, 32, 32, 32, 32, 20, 25]);
});

test('ControlNet-XS structure is read from the weights', () => {
  const file = openTensorFile(fixture('tiny-cnxs.ckpt'));
  const cfg = detectCnxs(file);
  assert.equal(cfg.prefix, 'control_model.');
  assert.equal(cfg.controlChannels, 32, 'control width ratio 1.0 in the tiny model');
  assert.equal(cfg.infusion2control, 'cat');
  assert.equal(cfg.ownTimeEmbed, false, 'learn_embedding false: the base time embedding drives both streams');
  assert.equal(cfg.inputBlocks.length, 12);
  assert.deepEqual(cfg.hintConvs.map((c) => c.stride), [1, 1, 2, 1, 2, 1, 2, 1]);
  assert.equal(cfg.scales.length, 25);
  file.close();
  assert.throws(() => detectCnxs(fixtureFile('tiny-controlnet.safetensors')), /not a ControlNet-XS/);
});

test('UNet fused with ControlNet-XS reproduces cnxs.eps at weight 1; weight 0 is the plain UNet', async (t) => {
  const err = relativeError(await eps(1), golden('cnxs.eps', 'control.safetensors').data);
  t.diagnostic(`cnxs.eps error ${err.toExponential(2)}`);
  assert.ok(err < MODULE_TOLERANCE, `cnxs.eps error ${err}`);
  // The hint still flows through the control stream, but nothing of it reaches the base at weight 0.
  const plain = relativeError(await eps(0), golden('unet.eps').data);
  t.diagnostic(`weight 0 vs unet.eps error ${plain.toExponential(2)}`);
  assert.ok(plain < MODULE_TOLERANCE, `weight 0 error ${plain}`);
});

test('fused graph in float16 stays near cnxs.eps', async (t) => {
  const err = relativeError(await eps(1, 'float16'), golden('cnxs.eps', 'control.safetensors').data);
  t.diagnostic(`fp16 cnxs.eps error ${err.toExponential(2)}`);
  assert.ok(err < 2e-2, `fp16 cnxs.eps error ${err}`);
});
