import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { buildUnetGraph } from './unet.ts';
import { detectUnet } from './unet-config.ts';

test('UNet architecture is read from the weights', () => {
  const cfg = detectUnet(fixtureFile('tiny-sd15.safetensors'));
  assert.equal(cfg.modelChannels, 32);
  assert.equal(cfg.contextDim, 32);
  assert.equal(cfg.inChannels, 4);
  assert.equal(cfg.inputBlocks.length, 12);
  assert.equal(cfg.outputBlocks.length, 12);
  assert.deepEqual(cfg.middle.map((l) => l.kind), ['res', 'transformer', 'res']);
  assert.equal(cfg.diffusersNames.get('input_blocks.4.1'), 'down_blocks.1.attentions.0');
  assert.equal(cfg.diffusersNames.get('output_blocks.5.2'), 'up_blocks.1.upsamplers.0');
});

test('UNet reproduces unet.eps in float32, and in float16 within 1e-2', async () => {
  for (const [compute, tolerance] of [['float32', MODULE_TOLERANCE], ['float16', 1e-2]] as const) {
    const { eps } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 32, width: 32, tokens: 77, compute });
    const session = await ModelSession.create(emitOnnx({ eps }), { providers: ['cpu'] });
    const out = await session.run(unetFeeds());
    const err = relativeError(out.eps.data as Float32Array, golden('unet.eps').data);
    assert.ok(err < tolerance, `${compute} unet.eps error ${err}`);
    await session.release();
  }
});

test('UNet runs on latents whose sides are not multiples of 8 (pixel sizes multiple of 8, not 64)', async () => {
  const { eps } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 1, height: 9, width: 13, tokens: 77 });
  assert.deepEqual(eps.shape, [1, 4, 9, 13]);
  const session = await ModelSession.create(emitOnnx({ eps }), { providers: ['cpu'] });
  const n = 4 * 9 * 13;
  const out = await session.run({
    sample: { dtype: 'float32', shape: [1, 4, 9, 13], data: Float32Array.from({ length: n }, (_, i) => Math.sin(i)) },
    timestep: { dtype: 'float32', shape: [1], data: Float32Array.of(500) },
    context: { dtype: 'float32', shape: [1, 77, 32], data: golden('unet.context').data.slice(0, 77 * 32) },
  });
  assert.ok((out.eps.data as Float32Array).every(Number.isFinite));
  await session.release();
});

test('plain attention in query chunks (16 per 1024-token attention) reproduces unet.eps', async () => {
  // 2 images x 8 heads x 64 queries x 1024 keys per chunk at the 32x32 level.
  const { eps } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 32, width: 32, tokens: 77, attentionChunkElements: 2 * 8 * 64 * 1024 });
  const session = await ModelSession.create(emitOnnx({ eps }), { providers: ['cpu'] });
  const err = relativeError((await session.run(unetFeeds())).eps.data as Float32Array, golden('unet.eps').data);
  assert.ok(err < MODULE_TOLERANCE, `chunked unet.eps error ${err}`);
  await session.release();
});
