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
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
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

/** The tensor shapes of a real SD1.5 VAE (LDM config ch 128, ch_mult 1,2,4,4, 2 res blocks), without the bytes. */
function sd15VaeShapes(): TensorFile {
  const shapes = new Map<string, number[]>();
  const put = (key: string, shape: number[]) => shapes.set(`first_stage_model.${key}`, shape);
  const conv = (key: string, cout: number, cin: number, k = 3) => {
    put(`${key}.weight`, [cout, cin, k, k]);
    put(`${key}.bias`, [cout]);
  };
  const norm = (key: string, c: number) => {
    put(`${key}.weight`, [c]);
    put(`${key}.bias`, [c]);
  };
  const res = (key: string, cin: number, cout: number) => {
    norm(`${key}.norm1`, cin);
    conv(`${key}.conv1`, cout, cin);
    norm(`${key}.norm2`, cout);
    conv(`${key}.conv2`, cout, cout);
    if (cin !== cout) conv(`${key}.nin_shortcut`, cout, cin, 1);
  };
  const mid = (key: string, c: number) => {
    res(`${key}.block_1`, c, c);
    res(`${key}.block_2`, c, c);
    norm(`${key}.attn_1.norm`, c);
    for (const p of ['q', 'k', 'v', 'proj_out']) conv(`${key}.attn_1.${p}`, c, c, 1);
  };
  const ch = [128, 256, 512, 512];
  conv('encoder.conv_in', 128, 3);
  let cin = 128;
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) res(`encoder.down.${i}.block.${j}`, j === 0 ? cin : ch[i], ch[i]);
    cin = ch[i];
    if (i < 3) conv(`encoder.down.${i}.downsample.conv`, ch[i], ch[i]);
  }
  mid('encoder.mid', 512);
  norm('encoder.norm_out', 512);
  conv('encoder.conv_out', 8, 512); // 2 * z_channels: mean and log-variance
  conv('quant_conv', 8, 8, 1);
  conv('post_quant_conv', 4, 4, 1);
  conv('decoder.conv_in', 512, 4);
  mid('decoder.mid', 512);
  for (let i = 3; i >= 0; i--) {
    for (let j = 0; j < 3; j++) res(`decoder.up.${i}.block.${j}`, j === 0 ? cin : ch[i], ch[i]);
    cin = ch[i];
    if (i > 0) conv(`decoder.up.${i}.upsample.conv`, ch[i], ch[i]);
  }
  norm('decoder.norm_out', 128);
  conv('decoder.conv_out', 3, 128);
  const tensors = new Map([...shapes].map(([name, shape]) => [name, { name, dtype: 'F16' as const, shape, fileOffset: 0, byteLength: 2 * shape.reduce((a, b) => a * b, 1) }]));
  const none = () => {
    throw new Error('shapes only');
  };
  return { path: '/models/sd15-shapes.safetensors', format: 'safetensors', sizeBytes: 0, tensors, metadata: {}, readBytes: none, readFloat32: none, close: () => {} };
}

test('a real SD1.5 VAE is detected from its shapes and its graphs have the right sizes', () => {
  const file = sd15VaeShapes();
  const cfg = detectVae(file);
  assert.deepEqual([cfg.channels, cfg.resBlocks, cfg.latentChannels, cfg.zChannels, cfg.midAttention, cfg.downFactor], [[128, 256, 512, 512], 2, 4, 4, true, 8]);
  const dec = buildVaeDecoderGraph(file, { batch: 2, height: 64, width: 96, compute: 'float16' });
  assert.deepEqual(dec.outputs.image.shape, [2, 3, 512, 768]);
  const enc = buildVaeEncoderGraph(file, { batch: 1, height: 512, width: 768 });
  assert.deepEqual(enc.outputs.latent.shape, [1, 4, 64, 96]);
  assert.throws(() => buildVaeEncoderGraph(file, { batch: 1, height: 500, width: 512 }), /not a multiple of 8/);
});
