// The golden checks on the WebGPU provider, run in a child process whose environment points Dawn at SwiftShader
// (runtime/swiftshader.ts; runtime/webgpu.test.ts starts it). Usage: node --import tsx webgpu-checks.test-support.ts <check>.
// Each check prints one line `RESULT <json>` with what the test asserts: the provider that ran, the errors
// against the goldens, where the training state lived, and the fallbacks the engine reported.

import { openTensorFile } from '../../formats/open-tensor-file.ts';
import type { Node } from '../graph/node.ts';
import { buildControlNetGraph } from '../models/controlnet.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from '../models/unet.ts';
import { attention } from '../models/layers.ts';
import { Graph } from '../graph/node.ts';
import { createFusedSession, describeFallback, type Fusions } from './fusions.ts';
import { SessionCache } from './session-cache.ts';
import type { ModelSession, TensorData } from './session.ts';
import { goldenInitial, groupError, stepData, type GoldenSource } from '../training/golden-training.test-support.ts';
import { buildStyleLoraTraining } from '../training/recipes/style-lora.ts';
import { TrainSession } from '../training/train-step.ts';
import { fixture, fixtureFile, golden, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { moduleChecks } from './webgpu-module-checks.test-support.ts';
import { pipelineChecks } from './webgpu-pipeline-checks.test-support.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });

/** Where the session runs, and every provider refusal on the way: at session creation (skipped) or at run. */
function report(session: ModelSession) {
  return { provider: session.provider, skipped: session.skipped.map((s) => `${s.name}: ${s.reason}`), fallbacks: session.fallbacks.map(describeFallback) };
}

/**
 * The first `batch` items of the unet.* goldens (0: t = 999, 1: t = 321; 32x32 latents): the items of a batch are
 * independent, and on SwiftShader each costs half a minute or more. Built as the engine builds it for each
 * provider (fusions.ts).
 */
async function unet(compute: 'float32' | 'float16', providers: ('webgpu' | 'cpu')[], batch: 1 | 2) {
  const build = (fusions: Fusions) => ({ eps: buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch, height: 32, width: 32, tokens: 77, compute, ...fusions }).eps });
  const session = await createFusedSession(build, `unet-${compute}`, { providers });
  const started = performance.now();
  const out = await session.run(firstItems(unetFeeds(), batch));
  const expected = golden('unet.eps').data;
  const error = relativeError(out.eps.data as Float32Array, expected.subarray(0, (expected.length / 2) * batch));
  const result = { ...report(session), error, seconds: (performance.now() - started) / 1000 };
  await session.release();
  return result;
}

/** The first `batch` items of feeds whose first axis is the batch. */
function firstItems(feeds: Record<string, TensorData>, batch: number): Record<string, TensorData> {
  return Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => {
      const per = t.data.length / t.shape[0];
      return [name, { ...t, shape: [batch, ...t.shape.slice(1)], data: (t.data as Float32Array).subarray(0, per * batch) }];
    }),
  );
}

/** The ControlNet's 13 residuals at strength 0.8 (cn.down.*, cn.mid) for the first item, from the fp16 file, in float32. */
async function controlnet() {
  const file = openTensorFile(fixture('tiny-controlnet.safetensors'));
  const names = CONTROL_INPUT_NAMES(13);
  const build = (fusions: Fusions): Record<string, Node> => {
    const { residuals } = buildControlNetGraph(file, { batch: 1, height: 32, width: 32, tokens: 77, contextDim: 32, ...fusions });
    return Object.fromEntries(residuals.map((r, i) => [names[i], r]));
  };
  const session = await createFusedSession(build, 'controlnet', { providers: ['webgpu'] });
  const feeds = firstItems({ ...unetFeeds(), hint: f32([2, 3, 256, 256], golden('cn.hint').data) }, 1);
  const out = await session.run({ ...feeds, strength: f32([1], Float32Array.of(0.8)) });
  const error = Math.max(
    ...names.map((n, i) => {
      const expected = golden(i === 12 ? 'cn.mid' : `cn.down.${i}`).data;
      return relativeError(out[n].data as Float32Array, expected.subarray(0, expected.length / 2));
    }),
  );
  await session.release();
  file.close();
  return { ...report(session), error };
}

/**
 * One plain (unchunked) attention of SD's 64x64 level at 512 px: its [2, 8, 4096, 4096] float32 scores are a 1 GiB
 * buffer, more than SwiftShader allocates, so WebGPU refuses the run and the engine moves it to the CPU.
 */
async function refusedBuffer() {
  const build = () => {
    const g = new Graph({ attentionChunkElements: 2 ** 31 });
    const q = g.input('q', 'float32', [2, 4096, 320]);
    const k = g.input('k', 'float32', [2, 4096, 320]);
    return { graph: g, outputs: { out: attention(q, k, k, 8) } };
  };
  // Through the engine's session cache, whose fallbacks a generation job reports.
  const cache = new SessionCache(4, { providers: ['webgpu', 'cpu'] });
  const session = await cache.get('plain-attention', build);
  const opened = session.provider;
  const q = Float32Array.from({ length: 2 * 4096 * 320 }, (_, i) => Math.sin(i * 0.37));
  const k = Float32Array.from({ length: 2 * 4096 * 320 }, (_, i) => Math.cos(i * 0.11));
  const out = await session.run({ q: f32([2, 4096, 320], q), k: f32([2, 4096, 320], k) });
  // An independent check of the CPU's answer on a few rows: softmax(q k^T / sqrt(40)) k, head by head.
  let error = 0;
  const data = out.out.data as Float32Array;
  for (const [b, t, h] of [[0, 0, 0], [1, 4095, 7], [0, 1234, 3]]) {
    const row = (src: Float32Array, tok: number) => src.subarray((b * 4096 + tok) * 320 + h * 40, (b * 4096 + tok) * 320 + h * 40 + 40);
    const qi = row(q, t);
    const scores = Array.from({ length: 4096 }, (_, j) => row(k, j).reduce((s, v, c) => s + v * qi[c], 0) / Math.sqrt(40));
    const max = Math.max(...scores);
    const w = scores.map((s) => Math.exp(s - max));
    const sum = w.reduce((a, c) => a + c, 0);
    for (let c = 0; c < 40; c++) {
      const expected = w.reduce((a, wj, j) => a + wj * row(k, j)[c], 0) / sum;
      error = Math.max(error, Math.abs(row(data, t)[c] - expected));
    }
  }
  const cached = { cacheFallbacks: cache.fallbacks.map(describeFallback), cacheProvider: cache.lastProvider };
  await cache.clear();
  return { opened, ...report(session), ...cached, error };
}

/**
 * Two steps of the style LoRA recipe (training goldens: 16x16 latents, batch 2) with the parameters and AdamW
 * moments kept as gpu-buffer outputs and fed back as they are.
 */
async function training() {
  const T = 'training.safetensors';
  const src: GoldenSource = { file: T, prefix: 'style.', data: 'train.', steps: 2, extra: {}, context: f32([2, 77, 32], golden('train.context', T).data) };
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 16, width: 16, tokens: 77, rank: 4, alpha: 2 });
  const names = tg.params.map((p) => p.name);
  const session = await TrainSession.create(tg, { initial: goldenInitial(tg, src), outputGradients: true, session: { providers: ['webgpu'] } });
  try {
    const started = performance.now();
    const first = await session.step(stepData(src, 0));
    const onDeviceAfterStep1 = session.stateOnDevice;
    const grad = groupError(names.map((n) => [first.grads!.get(n)!, golden(`style.grad.${n}`, T).data]));
    const state1 = await session.readState();
    const step1 = groupError(names.map((n) => [state1.params.get(n)!, golden(`style.step1.${n}`, T).data]));
    const second = await session.step(stepData(src, 1));
    const losses = groupError([[[first.loss, second.loss], golden('style.losses', T).data.subarray(0, 2)]]);
    return { provider: session.provider, onDeviceAfterStep1, onDeviceAfterStep2: session.stateOnDevice, grad, step1, losses, secondsForTwoSteps: (performance.now() - started) / 1000 };
  } finally {
    await session.release();
  }
}

const checks: Record<string, () => Promise<unknown>> = {
  'unet-fp32': () => unet('float32', ['webgpu'], 1),
  'unet-fp16': () => unet('float16', ['webgpu', 'cpu'], 2),
  controlnet,
  'refused-buffer': refusedBuffer,
  training,
  ...moduleChecks,
  ...pipelineChecks,
};

const name = process.argv[2];
const check = checks[name];
if (!check) {
  process.stderr.write(`unknown check '${name}'; one of ${Object.keys(checks).join(', ')}\n`);
  process.exit(2);
}
process.stdout.write(`RESULT ${JSON.stringify(await check())}\n`);
