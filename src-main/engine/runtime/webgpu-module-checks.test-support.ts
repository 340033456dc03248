// More module goldens on the WebGPU provider (SwiftShader): the CLIP text encoder, a CtrLoRA condition, the VAE
// and the UNet fused with ControlNet-XS. webgpu-checks.test-support.ts runs them by name in its child process.
// Each builds the graph as the engine builds it for WebGPU (fusions.ts: plain attention in query chunks) and
// compares with the golden the CPU tests use, in float32.
//
// CPU time of one check on SwiftShader (first run, shaders compiled on the way; README): CLIP 7 s, CtrLoRA 87 s,
// VAE encoder 101 s, ControlNet-XS 274 s, VAE decoder 181 s. The last two are not in webgpu.test.ts; they run by
// hand, in swiftShaderEnv()'s environment: `node --import tsx webgpu-checks.test-support.ts vae-decode` (or `cnxs`).

import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { Node } from '../graph/node.ts';
import { buildClipTextGraph } from '../models/clip-text.ts';
import { buildCnxsUnetGraph } from '../models/cnxs.ts';
import { buildCtrLoraGraph } from '../models/ctrlora.ts';
import { CONTROL_INPUT_NAMES } from '../models/unet.ts';
import { buildVaeDecoderGraph, buildVaeEncoderGraph } from '../models/vae.ts';
import { createFusedSession, describeFallback, type Fusions } from './fusions.ts';
import type { ModelSession, SessionOptions, TensorData } from './session.ts';
import { fixture, fixtureFile, golden, relativeError, unetFeeds } from '../goldens.test-support.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });
const one = (v: number) => f32([1], Float32Array.of(v));
const control = (name: string) => golden(name, 'control.safetensors');

/** The first item of feeds whose first axis is the batch (a [1] scalar input stays as it is). */
function firstItem(feeds: Record<string, TensorData>): Record<string, TensorData> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => {
      if (t.shape.length === 1 && t.shape[0] === 1) return [name, t];
      return [name, { ...t, shape: [1, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(0, t.data.length / t.shape[0]) }];
    }),
  );
}

/** The first item of a golden whose first axis is a batch of two. */
const firstHalf = (data: Float32Array) => data.subarray(0, data.length / 2);

/** Opens `build` on WebGPU alone (a refusal fails the check), runs it once and reports where it ran and how long it took. */
async function runOnWebGpu(build: (fusions: Fusions) => Record<string, Node>, name: string, feeds: Record<string, TensorData>, opts: Pick<SessionOptions, 'webgpuLayout'> = {}) {
  const session: ModelSession = await createFusedSession(build, name, { ...opts, providers: ['webgpu'] });
  try {
    const started = performance.now();
    const out = await session.run(feeds);
    const report = { provider: session.provider, skipped: session.skipped.map((s) => `${s.name}: ${s.reason}`), fallbacks: session.fallbacks.map(describeFallback) };
    return { out, report, seconds: (performance.now() - started) / 1000 };
  } finally {
    await session.release();
  }
}

/** text.hidden and text.hidden_skip2 for both prompts of text.ids. */
async function clip() {
  const ids = golden('text.ids');
  const build = () => {
    const { outputs } = buildClipTextGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2 });
    return { hidden: outputs.hidden, skip2: outputs.hiddenSkip2 };
  };
  const { out, report, seconds } = await runOnWebGpu(build, 'clip-text', { input_ids: { dtype: 'int64', shape: [2, 77], data: BigInt64Array.from(ids.data, (v) => BigInt(v)) } });
  const hidden = relativeError(out.hidden.data as Float32Array, golden('text.hidden').data);
  const skip2 = relativeError(out.skip2.data as Float32Array, golden('text.hidden_skip2').data);
  return { ...report, error: Math.max(hidden, skip2), hidden, skip2, seconds };
}

/** The Base ControlNet with the edge condition LoRA (.safetensors): ctrlora.edge.out.0..12 for the first item. */
async function ctrlora() {
  const base = openTensorFile(fixture('tiny-ctrlora-base.safetensors'));
  const edge = openTensorFile(fixture('tiny-ctrlora-edge.safetensors'));
  try {
    const build = (fusions: Fusions) => buildCtrLoraGraph(base, edge, { batch: 1, height: 32, width: 32, tokens: 77, contextDim: 32, ...fusions }).outputs;
    const { timestep, context } = unetFeeds();
    const feeds = firstItem({ timestep, context, latent: f32([2, 4, 32, 32], control('ctrlora.latent_a').data), strength: one(1), weight: one(1) });
    const { out, report, seconds } = await runOnWebGpu(build, 'ctrlora', feeds);
    const errors = CONTROL_INPUT_NAMES(13).map((n, i) => relativeError(out[n].data as Float32Array, firstHalf(control(`ctrlora.edge.out.${i}`).data)));
    return { ...report, error: Math.max(...errors), errors, seconds };
  } finally {
    base.close();
    edge.close();
  }
}

/** vae.decoded from vae.z (one image, 32x32 latent to 256x256), in NCHW as vae-encode. */
async function vaeDecode() {
  const z = golden('vae.z');
  const build = () => ({ image: buildVaeDecoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 1, height: 32, width: 32 }).outputs.image });
  const { out, report, seconds } = await runOnWebGpu(build, 'vae-decoder', { latent: f32(z.shape, z.data) }, { webgpuLayout: 'NCHW' });
  return { ...report, error: relativeError(out.image.data as Float32Array, golden('vae.decoded').data), seconds };
}

/**
 * vae.encoded_mean from vae.image (one 256x256 image), with the convolutions in NCHW (session.ts webgpuLayout:
 * ORT's NHWC puts a Transpose around each Conv, slow on SwiftShader): 100 s of CPU time there.
 */
async function vaeEncode() {
  const image = golden('vae.image');
  const build = () => ({ latent: buildVaeEncoderGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 1, height: 256, width: 256 }).outputs.latent });
  const { out, report, seconds } = await runOnWebGpu(build, 'vae-encoder', { image: f32(image.shape, image.data) }, { webgpuLayout: 'NCHW' });
  return { ...report, error: relativeError(out.latent.data as Float32Array, golden('vae.encoded_mean').data), seconds };
}

/** cnxs.eps for the first item: the UNet steered by tiny-cnxs.ckpt with cnxs.hint at weight 1. */
async function cnxs() {
  const file = openTensorFile(fixture('tiny-cnxs.ckpt'));
  try {
    const build = (fusions: Fusions) => ({ eps: buildCnxsUnetGraph(fixtureFile('tiny-sd15.safetensors'), file, { batch: 1, height: 32, width: 32, tokens: 77, ...fusions }).eps });
    const hint = control('cnxs.hint');
    const { out, report, seconds } = await runOnWebGpu(build, 'cnxs-unet', firstItem({ ...unetFeeds(), hint: f32(hint.shape, hint.data), weight: one(1) }));
    return { ...report, error: relativeError(out.eps.data as Float32Array, firstHalf(control('cnxs.eps').data)), seconds };
  } finally {
    file.close();
  }
}

export const moduleChecks: Record<string, () => Promise<unknown>> = { clip, ctrlora, 'vae-decode': vaeDecode, 'vae-encode': vaeEncode, cnxs };
