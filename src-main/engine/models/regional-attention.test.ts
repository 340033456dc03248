// Regional cross-attention against an independent computation: one transformer block's cross-attention
// (input_blocks.1.1 of the tiny checkpoint) with two regions and the main prompt, feathered masks pooled to the
// block's resolution, computed here in plain float64 from the checkpoint's tensors exactly as the definition
// reads, out(p) = sum_r w_r(p) * to_out(softmax(q k_r^T / sqrt(d)) v_r)(p), and compared with the graph, fused
// and plain, and in float16 compute as on a GPU; the negative row of the CFG batch reads no region input. Also: a
// graph without regions declares exactly the inputs it always had.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { areaAverage, featherPlane, normaliseWeights, type Plane } from '../pipeline/region-masks.ts';
import { declareTextContext, RegionalContext, regionalCrossAttention, regionMaskInputName } from './regional-attention.ts';
import { buildUnetGraph } from './unet.ts';
import { Weights } from './weights.ts';

const PATH = 'input_blocks.1.1.transformer_blocks.0.attn2';
const HEADS = 8;
const B = 2;
const H = 8; // the block's resolution for a 64x64 latent would be 64; 8x8 keeps the reference quick
const W = 8;

/** Deterministic values in [-1, 1]. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.9);

/** y = x W^T + b for x [n, in], W [out, in], in float64. */
function linearRef(x: Float64Array, n: number, w: Float32Array, b: Float32Array | null, inW: number, outW: number): Float64Array {
  const y = new Float64Array(n * outW);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outW; o++) {
      let s = b ? b[o] : 0;
      for (let k = 0; k < inW; k++) s += x[i * inW + k] * w[o * inW + k];
      y[i * outW + o] = s;
    }
  }
  return y;
}

/** CrossAttn(x, ctx) of one image: x [T, C], ctx [Tk, D] -> [T, C], per the LDM definition. */
function crossAttentionRef(x: Float64Array, t: number, ctx: Float64Array, tk: number): Float64Array {
  const f = fixtureFile('tiny-sd15.safetensors');
  const get = (name: string) => f.readFloat32(`model.diffusion_model.${PATH}.${name}`);
  const wq = get('to_q.weight');
  const c = f.tensors.get(`model.diffusion_model.${PATH}.to_q.weight`)!.shape[1];
  const inner = f.tensors.get(`model.diffusion_model.${PATH}.to_q.weight`)!.shape[0];
  const d = f.tensors.get(`model.diffusion_model.${PATH}.to_k.weight`)!.shape[1];
  const q = linearRef(x, t, wq, null, c, inner);
  const k = linearRef(ctx, tk, get('to_k.weight'), null, d, inner);
  const v = linearRef(ctx, tk, get('to_v.weight'), null, d, inner);
  const hd = inner / HEADS;
  const a = new Float64Array(t * inner);
  const scores = new Float64Array(tk);
  for (let h = 0; h < HEADS; h++) {
    for (let i = 0; i < t; i++) {
      let max = -Infinity;
      for (let j = 0; j < tk; j++) {
        let s = 0;
        for (let e = 0; e < hd; e++) s += q[i * inner + h * hd + e] * k[j * inner + h * hd + e];
        scores[j] = s / Math.sqrt(hd);
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j < tk; j++) sum += (scores[j] = Math.exp(scores[j] - max));
      for (let e = 0; e < hd; e++) {
        let s = 0;
        for (let j = 0; j < tk; j++) s += scores[j] * v[j * inner + h * hd + e];
        a[i * inner + h * hd + e] = s / sum;
      }
    }
  }
  return linearRef(a, t, get('to_out.0.weight'), get('to_out.0.bias'), inner, c);
}

function disc(size: number, cx: number, cy: number, r: number): Plane {
  return { width: size, height: size, data: Float32Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - cx, Math.floor(i / size) - cy) < r ? 1 : 0)) };
}

test('two feathered regions + the main prompt: the graph equals the weighted sum of per-prompt cross-attentions', async () => {
  const f = fixtureFile('tiny-sd15.safetensors');
  const c = f.tensors.get(`model.diffusion_model.${PATH}.to_q.weight`)!.shape[1];
  const d = f.tensors.get(`model.diffusion_model.${PATH}.to_k.weight`)!.shape[1];
  const tokens = [77, 77, 154]; // main, region 1, region 2 (a two-chunk prompt)
  const x = values(B * H * W * c, 1);
  const contexts = tokens.map((t, r) => values(B * t * d, 10 + r));
  // Pixel masks 64x64 -> feathered -> normalised -> pooled to 8x8, overlapping so all three prompts mix somewhere.
  const planes = normaliseWeights([featherPlane(disc(64, 20, 24, 16), 6), featherPlane(disc(64, 40, 36, 18), 10)]);
  const pooled = planes.map((p) => areaAverage(p, H, W));
  const masks = new Float32Array(3 * B * H * W);
  pooled.forEach((m, r) => {
    for (let b = 0; b < B; b++) masks.set(b === 0 ? (r === 0 ? new Float32Array(H * W).fill(1) : new Float32Array(H * W)) : m, (r * B + b) * H * W);
  });

  const expected = new Float32Array(B * H * W * c);
  for (let b = 0; b < B; b++) {
    const xb = Float64Array.from(x.subarray(b * H * W * c, (b + 1) * H * W * c));
    tokens.forEach((t, r) => {
      const out = crossAttentionRef(xb, H * W, Float64Array.from(contexts[r].subarray(b * t * d, (b + 1) * t * d)), t);
      for (let p = 0; p < H * W; p++) {
        const wgt = masks[(r * B + b) * H * W + p];
        for (let ch = 0; ch < c; ch++) expected[(b * H * W + p) * c + ch] += wgt * out[p * c + ch];
      }
    });
  }

  // float32 with the fused and the plain attention (MODULE_TOLERANCE); float16 compute, as on a GPU, within 1e-2.
  for (const [fusedAttention, compute, tolerance] of [[true, 'float32', MODULE_TOLERANCE], [false, 'float32', MODULE_TOLERANCE], [true, 'float16', 1e-2]] as const) {
    const g = new Graph({ fusedAttention });
    const xIn = g.input('x', 'float32', [B, H * W, c]);
    const context = declareTextContext(g, B, tokens[0], d, tokens.slice(1));
    assert.ok(context instanceof RegionalContext);
    const w = new Weights(g, f, 'model.diffusion_model.', compute, null).sub(PATH);
    const out = op.cast(regionalCrossAttention(w, op.cast(xIn, compute), context.cast(compute), HEADS, H, W), 'float32');
    const session = await ModelSession.create(emitOnnx({ out }), { providers: ['cpu'] });
    assert.deepEqual([...session.model.inputNames].sort(), ['context', 'region_context_0', 'region_context_1', regionMaskInputName(H, W), 'x'].sort());
    const feeds = (ctx: Float32Array[], m: Float32Array) => ({
      x: { dtype: 'float32' as const, shape: [B, H * W, c], data: x },
      context: { dtype: 'float32' as const, shape: [B, 77, d], data: ctx[0] },
      region_context_0: { dtype: 'float32' as const, shape: [B, 77, d], data: ctx[1] },
      region_context_1: { dtype: 'float32' as const, shape: [B, 154, d], data: ctx[2] },
      [regionMaskInputName(H, W)]: { dtype: 'float32' as const, shape: [3, B, H, W], data: m },
    });
    const result = await session.run(feeds(contexts, masks));
    const err = relativeError(result.out.data as Float32Array, expected);
    assert.ok(err < tolerance, `${fusedAttention ? 'fused' : 'plain'} attention, ${compute}: error ${err}`);
    // The negative (first) row reads only the main context: NaN in its region contexts and region weights, which
    // it must not read, changes nothing (a zero-weighted attention would turn them into NaN).
    const poisoned = contexts.map((ctx, r) => (r === 0 ? ctx : ctx.map((v, i) => (i < ctx.length / B ? NaN : v))));
    const poisonedMasks = masks.map((v, i) => (i >= B * H * W && Math.floor(i / (H * W)) % B === 0 ? NaN : v));
    const unread = await session.run(feeds(poisoned, poisonedMasks));
    assert.deepEqual(unread.out.data, result.out.data, `${fusedAttention ? 'fused' : 'plain'} attention, ${compute}: the negative row read region inputs`);
    await session.release();
  }
});

test('a UNet without regions declares only its usual inputs; with regions, one mask input per attention size', () => {
  const file = fixtureFile('tiny-sd15.safetensors');
  const plain = buildUnetGraph(file, { batch: 2, height: 32, width: 32, tokens: 77 });
  assert.deepEqual(plain.graph.inputs.map((n) => n.attrs.name), ['sample', 'timestep', 'context']);
  const regional = buildUnetGraph(file, { batch: 2, height: 9, width: 13, tokens: 77, regionTokens: [77, 154] });
  const names = regional.graph.inputs.map((n) => n.attrs.name);
  // Attention on the first three levels and in the middle block (the tiny UNet's layout): 9x13, 5x7, 3x4, 2x2.
  assert.deepEqual(names, ['sample', 'timestep', 'context', 'region_context_0', 'region_context_1', 'region_masks_9x13', 'region_masks_5x7', 'region_masks_3x4', 'region_masks_2x2']);
});
