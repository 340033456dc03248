// How fast this machine can multiply and add at best, against how much the UNet and the VAE decoder must: the
// shortest time one evaluation can take here, whatever the graph does. Also measures the one way to do less
// arithmetic in a 3x3 convolution that standard ONNX ops allow (Winograd, bench/winograd-conv.ts) against the
// direct Conv, at the shapes where SD1.5 spends its time.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { graphFlops } from '../../src-main/engine/graph/graph-flops.ts';
import { Graph, type Node } from '../../src-main/engine/graph/node.ts';
import * as op from '../../src-main/engine/graph/ops.ts';
import { buildUnetGraph } from '../../src-main/engine/models/unet.ts';
import { buildVaeDecoderGraph } from '../../src-main/engine/models/vae.ts';
import { type CpuMemoryPolicy, LEAN_INFERENCE, type TensorData, VAE_INFERENCE } from '../../src-main/engine/runtime/session.ts';
import { benchSession, type BenchOptions, pseudoRandom, type Scenario, steadyRuns } from '../scenario.ts';
import { winogradConv3x3 } from '../winograd-conv.ts';

/** Best time of `runs` after a warm-up, and the warm-up's output. */
async function measure(build: (g: Graph) => Node, feeds: Record<string, TensorData>, opts: BenchOptions, policy: CpuMemoryPolicy, runs: number) {
  const { session } = await benchSession(() => {
    const g = new Graph();
    return { y: build(g) };
  }, opts, policy);
  const { bestMs, first } = await steadyRuns(session, feeds, runs);
  await session.release();
  return { bestMs, out: first.y.data as Float32Array };
}

function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    max = Math.max(max, Math.abs(b[i]));
  }
  return diff / max;
}

/** Direct Conv and Winograd F(2,3), F(4,3) at one SD1.5 level; the weights as constants, as the engine has them. */
async function convAt(name: string, [n, c, side]: [number, number, number], policy: CpuMemoryPolicy, opts: BenchOptions) {
  const x = pseudoRandom([n, c, side, side], 11);
  const w = pseudoRandom([c, c, 3, 3], 12, 1 / Math.sqrt(9 * c)).data as Float32Array;
  const b = pseudoRandom([c], 13, 0.1).data as Float32Array;
  const weights = (g: Graph) => [g.input('x', 'float32', x.shape), op.constantOf(g, 'float32', [c, c, 3, 3], w), op.constantOf(g, 'float32', [c], b)] as const;
  const direct = await measure((g) => op.conv(...weights(g), { pads: [1, 1, 1, 1] }), { x }, opts, policy, 3);
  const metrics: Record<string, number> = { [`conv_${name}_ms`]: direct.bestMs };
  const diffs: string[] = [];
  for (const m of [2, 4] as const) {
    const wino = await measure((g) => winogradConv3x3(...weights(g), m), { x }, opts, policy, 3);
    const diff = relativeDiff(wino.out, direct.out);
    if (diff > 1e-3) throw new Error(`Winograd F(${m},3) at ${name} is off by ${diff} relative to the direct Conv`);
    metrics[`winograd${m}_${name}_ms`] = wino.bestMs;
    diffs.push(`F(${m},3) ${diff.toExponential(1)}`);
  }
  const flops = 2 * n * c * c * 9 * side * side;
  return { metrics, flops, bestMs: direct.bestMs, detail: `${name} [${n}, ${c}, ${side}, ${side}] (Winograd off by ${diffs.join(', ')})` };
}

export const computeCeiling: Scenario = {
  name: 'compute-ceiling',
  title: 'Arithmetic ceiling: the machine against the UNet and VAE',
  headline: 'unet_floor_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const size = 2048;
    const a = pseudoRandom([size, size], 21);
    const gemm = await measure((g) => op.matmul(g.input('a', 'float32', [size, size]), g.input('b', 'float32', [size, size])), { a, b: a }, opts, LEAN_INFERENCE, 3);
    const gemmRate = (2 * size ** 3) / gemm.bestMs; // FLOP per ms
    // The UNet's widest level (batch 2, 64x64 latents at 512 px) and the VAE decoder's last (batch 1, 512x512).
    const unetLevel = await convAt('unet64', [2, 320, 64], LEAN_INFERENCE, opts);
    const vaeLevel = await convAt('vae512', [1, 128, 512], VAE_INFERENCE, opts);
    const best = Math.max(gemmRate, unetLevel.flops / unetLevel.bestMs, vaeLevel.flops / vaeLevel.bestMs);
    const file = openTensorFile(model.checkpoint);
    const unet = graphFlops([buildUnetGraph(file, { batch: 2, height: model.unetLatent, width: model.unetLatent, tokens: 77, compute: 'float32', fusedAttention: true }).eps]);
    const vae = graphFlops([buildVaeDecoderGraph(file, { batch: 1, height: model.vaeLatent, width: model.vaeLatent, compute: 'float32', fusedAttention: true }).outputs.image]);
    file.close();
    return {
      metrics: {
        unet_floor_ms: unet.total / best,
        vae_floor_ms: vae.total / best,
        unet_gflop: unet.total / 1e9,
        vae_gflop: vae.total / 1e9,
        matmul_gflops: gemmRate / 1e6,
        conv_unet64_gflops: unetLevel.flops / unetLevel.bestMs / 1e6,
        conv_vae512_gflops: vaeLevel.flops / vaeLevel.bestMs / 1e6,
        ...unetLevel.metrics,
        ...vaeLevel.metrics,
      },
      detail: `floors = FLOPs of one batch-2 UNet (${model.unetLatent}x${model.unetLatent}) / batch-1 VAE decode (${model.vaeLatent * 8} px) at the best rate measured (${(best / 1e6).toFixed(0)} GFLOP/s; MatMul ${size}^3 and the direct Conv at ${unetLevel.detail} and ${vaeLevel.detail}), best of 3`,
    };
  },
};
