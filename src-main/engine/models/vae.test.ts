import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openSafetensors, writeSafetensors } from '../../formats/safetensors.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../testing/goldens.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph, detectVae } from './vae.ts';

/** fp16 compute against float32 goldens: half precision carries ~3 decimal digits. */
const FP16_TOLERANCE = 1e-2;

async function decode(file: TensorFile, compute: DataType): Promise<Float32Array> {
  const z = golden('vae.z'); // [1, 4, 32, 32], scaled as samplers produce it
  const { outputs } = buildVaeDecoderGraph(file, { batch: 1, height: z.shape[2], width: z.shape[3], compute });
  const session = await ModelSession.create(emitOnnx({ image: outputs.image }), { providers: ['cpu'] });
  try {
    const result = await session.run({ latent: { dtype: 'float32', shape: z.shape, data: z.data } });
    assert.deepEqual(result.image.shape, [1, 3, 256, 256]);
    return result.image.data as Float32Array;
  } finally {
    await session.release();
  }
}

async function encode(file: TensorFile, compute: DataType): Promise<Float32Array> {
  const image = golden('vae.image'); // [1, 3, 256, 256] in [-1, 1]
  const { outputs } = buildVaeEncoderGraph(file, { batch: 1, height: image.shape[2], width: image.shape[3], compute });
  const session = await ModelSession.create(emitOnnx({ latent: outputs.latent }), { providers: ['cpu'] });
  try {
    const result = await session.run({ image: { dtype: 'float32', shape: image.shape, data: image.data } });
    assert.deepEqual(result.latent.shape, [1, 4, 32, 32]);
    return result.latent.data as Float32Array;
  } finally {
    await session.release();
  }
}

test('VAE config is read from the weights', () => {
  const cfg = detectVae(fixtureFile('tiny-sd15.safetensors'));
  assert.deepEqual(
    {
      prefix: cfg.prefix,
      channels: cfg.channels,
      resBlocks: cfg.resBlocks,
      latent: cfg.latentChannels,
      z: cfg.zChannels,
      attn: cfg.midAttention,
      enc: cfg.hasEncoder,
      f: cfg.downFactor,
    },
    { prefix: 'first_stage_model.', channels: [32, 32, 64, 64], resBlocks: 2, latent: 4, z: 4, attn: true, enc: true, f: 8 },
  );
});

test('VAE decoder reproduces vae.decoded in float32', async () => {
  const e = relativeError(await decode(fixtureFile('tiny-sd15.safetensors'), 'float32'), golden('vae.decoded').data);
  console.log(`vae.decoded float32 error ${e.toExponential(2)}`);
  assert.ok(e < MODULE_TOLERANCE, `vae.decoded error ${e}`);
});

test('VAE encoder reproduces vae.encoded_mean in float32', async () => {
  const e = relativeError(await encode(fixtureFile('tiny-sd15.safetensors'), 'float32'), golden('vae.encoded_mean').data);
  console.log(`vae.encoded_mean float32 error ${e.toExponential(2)}`);
  assert.ok(e < MODULE_TOLERANCE, `vae.encoded_mean error ${e}`);
});

test('VAE in float16 compute stays near the float32 goldens', async () => {
  const file = fixtureFile('tiny-sd15.safetensors');
  const ed = relativeError(await decode(file, 'float16'), golden('vae.decoded').data);
  const ee = relativeError(await encode(file, 'float16'), golden('vae.encoded_mean').data);
  console.log(`float16 errors: vae.decoded ${ed.toExponential(2)}, vae.encoded_mean ${ee.toExponential(2)}`);
  assert.ok(ed < FP16_TOLERANCE, `vae.decoded fp16 error ${ed}`);
  assert.ok(ee < FP16_TOLERANCE, `vae.encoded_mean fp16 error ${ee}`);
});

test('a standalone VAE file (keys from encoder./decoder.) is detected and decodes the same', async () => {
  const source = fixtureFile('tiny-sd15.safetensors');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-vae-'));
  const target = path.join(dir, 'standalone-vae.safetensors');
  try {
    const tensors = [...source.tensors.values()]
      .filter((t) => t.name.startsWith('first_stage_model.'))
      .map((t) => ({ name: t.name.slice('first_stage_model.'.length), dtype: t.dtype, shape: t.shape, data: source.readBytes(t.name) }));
    writeSafetensors(target, tensors);
    const file = openSafetensors(target);
    try {
      assert.equal(detectVae(file).prefix, '');
      const e = relativeError(await decode(file, 'float32'), golden('vae.decoded').data);
      assert.ok(e < MODULE_TOLERANCE, `standalone vae.decoded error ${e}`);
    } finally {
      file.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file without a VAE is refused with the file named', () => {
  assert.throws(() => detectVae(fixtureFile('tiny-lora.safetensors')), /tiny-lora\.safetensors: no VAE/);
});
