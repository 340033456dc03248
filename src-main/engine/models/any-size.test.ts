// The engine reads every architecture number from the weights. Checkpoints we do not have (other widths, depths,
// level counts, attention placements, dtypes, 9-channel inpainting UNets) are generated here from
// sd15-layout.test-support.ts with random weights, and the whole model runtime must run on them: text encoding, UNet
// at batch 2 (with a ControlNet), VAE decode and encode, with finite outputs of the shapes the weights imply.
// The same values stored as F32, BF16 and F16 must give the same outputs (the graph widens weights in-graph).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { openSafetensors } from '../../formats/safetensors.ts';
import { ModelRuntime, type Tensor32 } from '../pipeline/model-runtime.ts';
import { MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { writeRandomCheckpoint, type RandomDType } from './random-checkpoint.test-support.ts';
import { checkpointLayout, controlNetLayout, type Sd15Arch } from './sd15-layout.test-support.ts';
import { detectClipText } from './clip-text.ts';
import { controlNetView, detectControlNet } from './controlnet.ts';
import { detectUnet } from './unet-config.ts';
import { detectVae } from './vae.ts';

/**
 * Three levels (1, 2, 3) x 64, attention on levels 0-1 only, one res block per level, transformers two deep,
 * CLIP 48 wide x 3 layers, a two-level VAE (2x down) with one res block. Widths stay multiples of 32: every
 * norm in an LDM UNet or VAE is GroupNorm(32), which torch refuses for other widths, so no such file exists.
 */
const WIDE: Sd15Arch = {
  unet: { modelChannels: 64, channelMult: [1, 2, 3], attentionLevels: [0, 1], resBlocks: 1, transformerDepth: 2, contextDim: 48, inChannels: 4 },
  vae: { channels: [32, 64], resBlocks: 1 },
  clip: { width: 48, layers: 3, mlpWidth: 192, vocab: 49408, positions: 77 },
};

/**
 * Inpainting (9 input channels), attention on the inner levels only, a small vocabulary. (Linear proj_in/out
 * would make it SD2-shaped, which the runtime's model check refuses, as it should.)
 */
const INPAINT: Sd15Arch = {
  unet: { modelChannels: 32, channelMult: [1, 2, 4], attentionLevels: [1, 2], resBlocks: 2, transformerDepth: 1, contextDim: 64, inChannels: 9 },
  vae: { channels: [32, 64, 64], resBlocks: 2 },
  clip: { width: 64, layers: 2, mlpWidth: 256, vocab: 1000, positions: 77 },
};

let dir = '';
const file = (name: string) => path.join(dir, name);
const DTYPES: RandomDType[] = ['F32', 'BF16', 'F16'];

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-any-size-'));
  // Every file holds bf16-rounded values, so the three dtypes store the same numbers (F16 up to its subnormals).
  for (const dtype of DTYPES) writeRandomCheckpoint(file(`wide-${dtype}.safetensors`), checkpointLayout(WIDE), dtype, 11, { roundAs: 'BF16' });
  writeRandomCheckpoint(file('wide-cn.safetensors'), controlNetLayout(WIDE.unet, { hintScale: 0.25 }), 'F16', 12);
  writeRandomCheckpoint(file('inpaint.safetensors'), checkpointLayout(INPAINT), 'F32', 13);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function rand(shape: number[], seed: number, scale = 1): Tensor32 {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return { shape, data };
}

function assertUsable(what: string, data: Float32Array, length: number): void {
  assert.equal(data.length, length, `${what}: ${data.length} values, expected ${length}`);
  let max = 0;
  for (const v of data) {
    assert.ok(Number.isFinite(v), `${what}: non-finite value ${v}`);
    max = Math.max(max, Math.abs(v));
  }
  assert.ok(max > 1e-6 && max < 1e4, `${what}: max |value| ${max}`);
}

test('architecture numbers are read from the weights of checkpoints of other shapes', () => {
  const wide = openSafetensors(file('wide-BF16.safetensors'));
  const inpaint = openSafetensors(file('inpaint.safetensors'));
  const cnFile = openSafetensors(file('wide-cn.safetensors'));
  try {
    const u = detectUnet(wide);
    assert.deepEqual([u.modelChannels, u.inChannels, u.contextDim, u.timeEmbedDim], [64, 4, 48, 256]);
    assert.equal(u.inputBlocks.length, 1 + 3 * 1 + 2); // conv_in, a res block per level, two downsamplers
    assert.equal(u.outputBlocks.length, 3 * 2);
    const transformers = u.inputBlocks.flatMap((b) => b.layers).filter((l) => l.kind === 'transformer');
    assert.deepEqual(transformers.map((l) => l.kind === 'transformer' && [l.path, l.depth, l.linearProj]), [['input_blocks.1.1', 2, false], ['input_blocks.3.1', 2, false]]);
    const v = detectVae(wide);
    assert.deepEqual([v.channels, v.resBlocks, v.downFactor, v.latentChannels], [[32, 64], 1, 2, 4]);
    const c = detectClipText(wide);
    assert.deepEqual([c.width, c.layers, c.mlpWidth, c.vocab, c.positions], [48, 3, 192, 49408, 77]);
    const i = detectUnet(inpaint);
    assert.deepEqual([i.inChannels, i.contextDim], [9, 64]);
    assert.deepEqual(i.inputBlocks.map((b) => b.layers.map((l) => l.kind).join('+')), ['', 'res', 'res', 'down', 'res+transformer', 'res+transformer', 'down', 'res+transformer', 'res+transformer']);
    assert.equal(detectClipText(inpaint).vocab, 1000);
    const { view, layout, prefix } = controlNetView(cnFile);
    const cn = detectControlNet(view, layout, prefix);
    assert.deepEqual([cn.modelChannels, cn.hintChannels, cn.inputBlocks.length], [64, 3, 6]);
    assert.deepEqual(cn.hintConvs.map((h) => h.stride), [1, 1, 2, 1, 2, 1, 2, 1]);
  } finally {
    for (const f of [wide, inpaint, cnFile]) f.close();
  }
});

interface Outputs {
  text: Tensor32;
  eps: Float32Array;
  controlled: Float32Array;
  image: Tensor32;
  latent: Tensor32;
}

/** Every evaluation on the WIDE checkpoint stored as `dtype`; latents 16x24 (3 levels need multiples of 4). */
async function runWide(runtime: ModelRuntime, dtype: RandomDType): Promise<Outputs> {
  const ckpt = file(`wide-${dtype}.safetensors`);
  const ids = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 6 ? 320 + i * 97 : 49407));
  const text = await runtime.encodeText(ckpt, ids, 1, 1, []);
  const context: Tensor32 = { shape: [2, 77, 48], data: new Float32Array(2 * 77 * 48) };
  context.data.set(text.data, 0);
  context.data.set(text.data, 77 * 48);
  const sample = rand([2, 4, 16, 24], 1);
  const t = Float32Array.of(999, 250);
  const eps = await runtime.unet(ckpt, sample, t, context, null, []);
  const hint = rand([2, 3, 128, 192], 2, 0.5);
  const residuals = await runtime.controlNet(file('wide-cn.safetensors'), sample, t, context, { shape: hint.shape, data: hint.data.map(Math.abs) }, 0.8);
  const controlled = await runtime.unet(ckpt, sample, t, context, residuals, []);
  const image = await runtime.vaeDecode(ckpt, rand([1, 4, 16, 24], 3));
  const latent = await runtime.vaeEncode(ckpt, rand([1, 3, 32, 48], 4));
  return { text, eps, controlled, image, latent };
}

test('the runtime runs text, UNet (batch 2, with a ControlNet) and VAE on a checkpoint of another shape, in every dtype', async () => {
  const runtime = new ModelRuntime('float32', ['cpu']);
  try {
    const results: Partial<Record<RandomDType, Outputs>> = {};
    for (const dtype of DTYPES) {
      const out = await runWide(runtime, dtype);
      assert.deepEqual(out.text.shape, [1, 77, 48]);
      assertUsable(`${dtype} text`, out.text.data, 77 * 48);
      assertUsable(`${dtype} eps`, out.eps, 2 * 4 * 16 * 24);
      assertUsable(`${dtype} eps with ControlNet`, out.controlled, 2 * 4 * 16 * 24);
      assert.ok(relativeError(out.controlled, out.eps) > 1e-3, `${dtype}: the ControlNet residuals change eps`);
      assert.deepEqual(out.image.shape, [1, 3, 32, 48]); // this VAE upsamples 2x, not 8x
      assertUsable(`${dtype} decoded image`, out.image.data, 3 * 32 * 48);
      assert.deepEqual(out.latent.shape, [1, 4, 16, 24]);
      assertUsable(`${dtype} encoded latent`, out.latent.data, 4 * 16 * 24);
      results[dtype] = out;
    }
    const f32 = results.F32!;
    for (const dtype of ['BF16', 'F16'] as const) {
      const o = results[dtype]!;
      const errors = {
        text: relativeError(o.text.data, f32.text.data),
        eps: relativeError(o.eps, f32.eps),
        controlled: relativeError(o.controlled, f32.controlled),
        image: relativeError(o.image.data, f32.image.data),
        latent: relativeError(o.latent.data, f32.latent.data),
      };
      console.log(`${dtype} vs F32 (same values): ${Object.entries(errors).map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
      for (const [k, e] of Object.entries(errors)) assert.ok(e < MODULE_TOLERANCE, `${dtype} ${k} differs from F32 by ${e}`);
    }
  } finally {
    await runtime.dispose();
  }
});

test('a 9-channel inpainting UNet runs at batch 2, its VAE decodes and encodes', async () => {
  const runtime = new ModelRuntime('float32', ['cpu']);
  const ckpt = file('inpaint.safetensors');
  try {
    const ids = Int32Array.from({ length: 2 * 77 }, (_, i) => (i % 77 === 0 ? 1 : (i * 37) % 1000));
    const text = await runtime.encodeText(ckpt, ids, 2, 2, []);
    assert.deepEqual(text.shape, [2, 77, 64]);
    assertUsable('inpaint text (clip skip 2)', text.data, 2 * 77 * 64);
    const eps = await runtime.unet(ckpt, rand([2, 9, 16, 16], 5), Float32Array.of(10, 500), text, null, []);
    assertUsable('inpaint eps', eps, 2 * 4 * 16 * 16);
    const image = await runtime.vaeDecode(ckpt, rand([2, 4, 8, 8], 6));
    assert.deepEqual(image.shape, [2, 3, 32, 32]);
    assertUsable('inpaint decoded', image.data, 2 * 3 * 32 * 32);
    const latent = await runtime.vaeEncode(ckpt, rand([1, 3, 32, 32], 7));
    assert.deepEqual(latent.shape, [1, 4, 8, 8]);
    assertUsable('inpaint encoded', latent.data, 4 * 8 * 8);
  } finally {
    await runtime.dispose();
  }
});

test('float16 compute on the F16 file stays within 1e-2 of float32 compute', async () => {
  const ckpt = file('wide-F16.safetensors');
  const ids = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 9 ? 1000 + i * 311 : 49407));
  const outputs: Record<string, Float32Array>[] = [];
  for (const compute of ['float32', 'float16'] as const) {
    const runtime = new ModelRuntime(compute, ['cpu']);
    try {
      const text = await runtime.encodeText(ckpt, ids, 1, 1, []);
      const context: Tensor32 = { shape: [2, 77, 48], data: new Float32Array([...text.data, ...text.data]) };
      const eps = await runtime.unet(ckpt, rand([2, 4, 16, 24], 8), Float32Array.of(999, 250), context, null, []);
      const image = await runtime.vaeDecode(ckpt, rand([1, 4, 16, 24], 9));
      outputs.push({ text: text.data, eps, image: image.data });
    } finally {
      await runtime.dispose();
    }
  }
  for (const k of ['text', 'eps', 'image']) {
    const e = relativeError(outputs[1][k], outputs[0][k]);
    console.log(`float16 compute ${k} error ${e.toExponential(1)}`);
    assert.ok(e < 1e-2, `float16 compute ${k} error ${e}`);
  }
});
