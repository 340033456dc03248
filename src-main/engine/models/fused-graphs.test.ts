// The fused inference graphs (com.microsoft.MultiHeadAttention for every attention but CLIP's) against the same
// goldens as the plain graphs in the other model tests: UNet, ControlNet, CtrLoRA base + condition, ControlNet-XS
// fused into the UNet, and the VAE's mid-block attention. Tolerances are the fixture README's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { type Node, topologicalOrder } from '../graph/node.ts';
import type { TensorData } from '../runtime/session.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError, runOnCpu, unetFeeds } from '../goldens.test-support.ts';
import { buildCnxsUnetGraph } from './cnxs.ts';
import { buildControlNetGraph } from './controlnet.ts';
import { buildCtrLoraGraph } from './ctrlora.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from './unet.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from './vae.ts';

const FUSED = { fusedAttention: true } as const;
const FP16_TOLERANCE = 1e-2;
const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const one = (v: number) => f32([1], Float32Array.of(v));
const NAMES = CONTROL_INPUT_NAMES(13);
const shape = { batch: 2, height: 32, width: 32, tokens: 77 };

function fusedCount(outputs: Record<string, Node>): { fused: number; softmax: number } {
  const order = topologicalOrder(Object.values(outputs));
  return { fused: order.filter((n) => n.op === 'MultiHeadAttention').length, softmax: order.filter((n) => n.op === 'Softmax').length };
}

/** Runs a fused graph on the CPU provider after checking that no attention was left plain. */
async function runFused(outputs: Record<string, Node>, feeds: Record<string, TensorData>): Promise<Record<string, Float32Array>> {
  const counts = fusedCount(outputs);
  assert.ok(counts.fused > 0, 'the graph has fused attention');
  assert.equal(counts.softmax, 0, 'no plain attention is left');
  return runOnCpu(outputs, feeds);
}

function controlFeeds(residuals: Float32Array[], inputs: readonly Node[]): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (const input of inputs) {
    const i = NAMES.indexOf(String(input.attrs.name));
    if (i >= 0) feeds[NAMES[i]] = f32(input.shape, residuals[i]);
  }
  return feeds;
}

test('fused UNet reproduces unet.eps in float32, and in float16 within 1e-2', async () => {
  for (const [compute, tolerance] of [['float32', MODULE_TOLERANCE], ['float16', FP16_TOLERANCE]] as const) {
    const { eps } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { ...shape, compute, ...FUSED });
    const err = relativeError((await runFused({ eps }, unetFeeds())).eps, golden('unet.eps').data);
    assert.ok(err < tolerance, `${compute} unet.eps error ${err}`);
  }
});

test('fused ControlNet reproduces cn.down.*, cn.mid and, through the fused UNet, cn.eps', async () => {
  const { residuals } = buildControlNetGraph(fixtureFile('tiny-controlnet.safetensors'), { ...shape, contextDim: 32, ...FUSED });
  const out = await runFused(Object.fromEntries(residuals.map((r, i) => [NAMES[i], r])), { ...unetFeeds(), hint: f32([2, 3, 256, 256], golden('cn.hint').data), strength: one(0.8) });
  NAMES.forEach((n, i) => {
    const err = relativeError(out[n], golden(i === 12 ? 'cn.mid' : `cn.down.${i}`).data);
    assert.ok(err < MODULE_TOLERANCE, `residual ${i} error ${err}`);
  });
  const { eps, graph } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { ...shape, withControl: true, ...FUSED });
  const result = await runFused({ eps }, { ...unetFeeds(), ...controlFeeds(NAMES.map((n) => out[n]), graph.inputs) });
  const err = relativeError(result.eps, golden('cn.eps').data);
  assert.ok(err < MODULE_TOLERANCE, `cn.eps error ${err}`);
});

test('fused VAE decoder and encoder reproduce vae.decoded and vae.encoded_mean; float16 within 1e-2', async () => {
  for (const [compute, tolerance] of [['float32', MODULE_TOLERANCE], ['float16', FP16_TOLERANCE]] as [DataType, number][]) {
    const z = golden('vae.z');
    const dec = buildVaeDecoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 1, height: 32, width: 32, compute, ...FUSED });
    const decoded = (await runFused({ image: dec.outputs.image }, { latent: f32(z.shape, z.data) })).image;
    assert.ok(relativeError(decoded, golden('vae.decoded').data) < tolerance, `${compute} vae.decoded error ${relativeError(decoded, golden('vae.decoded').data)}`);
    const image = golden('vae.image');
    const enc = buildVaeEncoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 1, height: 256, width: 256, compute, ...FUSED });
    const mean = (await runFused({ latent: enc.outputs.latent }, { image: f32(image.shape, image.data) })).latent;
    assert.ok(relativeError(mean, golden('vae.encoded_mean').data) < tolerance, `${compute} vae.encoded_mean error ${relativeError(mean, golden('vae.encoded_mean').data)}`);
  }
});

test('fused CtrLoRA base + edge condition, through the fused UNet, reproduces ctrlora.edge.eps', async () => {
  const control = (name: string) => golden(name, 'control.safetensors');
  const enc = buildVaeEncoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 256, width: 256, ...FUSED });
  const latent = (await runFused({ latent: enc.outputs.latent }, { image: f32([2, 3, 256, 256], control('ctrlora.hint_a').data) })).latent;
  const base = openTensorFile(fixture('tiny-ctrlora-base.ckpt'));
  const edge = openTensorFile(fixture('tiny-ctrlora-edge.ckpt'));
  try {
    const { outputs } = buildCtrLoraGraph(base, edge, { ...shape, contextDim: 32, ...FUSED });
    const { timestep, context } = unetFeeds();
    const out = await runFused(outputs, { timestep, context, latent: f32([2, 4, 32, 32], latent), strength: one(1), weight: one(1) });
    const { eps, graph } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { ...shape, withControl: true, ...FUSED });
    const result = await runFused({ eps }, { ...unetFeeds(), ...controlFeeds(NAMES.map((n) => out[n]), graph.inputs) });
    const err = relativeError(result.eps, control('ctrlora.edge.eps').data);
    assert.ok(err < MODULE_TOLERANCE, `ctrlora.edge.eps error ${err}`);
  } finally {
    base.close();
    edge.close();
  }
});

test('fused UNet + ControlNet-XS reproduces cnxs.eps at weight 1', async () => {
  const cnxs = openTensorFile(fixture('tiny-cnxs.ckpt'));
  try {
    const { eps } = buildCnxsUnetGraph(fixtureFile('tiny-sd15.safetensors'), cnxs, { ...shape, ...FUSED });
    const hint = golden('cnxs.hint', 'control.safetensors');
    const out = await runFused({ eps }, { ...unetFeeds(), hint: f32(hint.shape, hint.data), weight: one(1) });
    const err = relativeError(out.eps, golden('cnxs.eps', 'control.safetensors').data);
    assert.ok(err < MODULE_TOLERANCE, `cnxs.eps error ${err}`);
  } finally {
    cnxs.close();
  }
});
