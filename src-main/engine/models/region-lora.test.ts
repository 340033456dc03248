// A LoRA tied to a region, at block level, against float64 written out here: the regional cross-attention of one
// transformer block (input_blocks.1.1 ... attn2 of the tiny checkpoint) with two overlapping feathered regions, the
// first carrying tiny-lora. By the definition in region-lora.ts: q and to_out add the LoRA delta times the region's
// feathered (not normalised) mask at each position, the region's own keys and values add it in full, the main
// prompt's and the other region's do not, and the branches mix by the normalised weights.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { areaAverage, featherPlane, normaliseWeights, type Plane } from '../pipeline/region-masks.ts';
import { indexLoraFile, LoraSet } from './lora.ts';
import { levelSizes, RegionalLoraSet, regionLoraMaskInputName, regionLoraStrengthName } from './region-lora.ts';
import { declareTextContext, RegionalContext, regionalCrossAttention, regionMaskInputName } from './regional-attention.ts';
import { detectUnet, unetLoraName } from './unet-config.ts';
import { Weights } from './weights.ts';

const PREFIX = 'model.diffusion_model.';
const PATH = 'input_blocks.1.1.transformer_blocks.0.attn2';
const KOHYA = 'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2';
const HEADS = 8;
const B = 2;
const H = 8;
const W = 8;
const STRENGTH = 1.3;

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * 0.9);

/** x [n, in] @ m^T for m [out, in], float64. */
function matmulT(x: Float64Array, n: number, m: Float32Array, inW: number, outW: number): Float64Array {
  const y = new Float64Array(n * outW);
  for (let i = 0; i < n; i++) for (let o = 0; o < outW; o++) {
    let s = 0;
    for (let k = 0; k < inW; k++) s += x[i * inW + k] * m[o * inW + k];
    y[i * outW + o] = s;
  }
  return y;
}

/** The LoRA delta of one module on x [n, in]: strength * alpha / rank * up(down(x)), float64. */
function loraDelta(module: string, x: Float64Array, n: number, inW: number): Float64Array {
  const lora = fixtureFile('tiny-lora.safetensors');
  const down = lora.readFloat32(`${KOHYA}_${module}.lora_down.weight`);
  const up = lora.readFloat32(`${KOHYA}_${module}.lora_up.weight`);
  const rank = lora.tensors.get(`${KOHYA}_${module}.lora_down.weight`)!.shape[0];
  const outW = up.length / rank;
  const alpha = lora.readFloat32(`${KOHYA}_${module}.alpha`)[0];
  const y = matmulT(matmulT(x, n, down, inW, rank), n, up, rank, outW);
  return y.map((v) => v * STRENGTH * (alpha / rank));
}

function attentionRef(q: Float64Array, k: Float64Array, v: Float64Array, t: number, tk: number, inner: number): Float64Array {
  const hd = inner / HEADS;
  const a = new Float64Array(t * inner);
  const s = new Float64Array(tk);
  for (let h = 0; h < HEADS; h++) for (let i = 0; i < t; i++) {
    let max = -Infinity;
    for (let j = 0; j < tk; j++) {
      let dot = 0;
      for (let e = 0; e < hd; e++) dot += q[i * inner + h * hd + e] * k[j * inner + h * hd + e];
      s[j] = dot / Math.sqrt(hd);
      max = Math.max(max, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < tk; j++) sum += (s[j] = Math.exp(s[j] - max));
    for (let e = 0; e < hd; e++) {
      let acc = 0;
      for (let j = 0; j < tk; j++) acc += s[j] * v[j * inner + h * hd + e];
      a[i * inner + h * hd + e] = acc / sum;
    }
  }
  return a;
}

function disc(size: number, cx: number, cy: number, r: number): Plane {
  return { width: size, height: size, data: Float32Array.from({ length: size * size }, (_, i) => (Math.hypot((i % size) - cx, Math.floor(i / size) - cy) < r ? 1 : 0)) };
}

test('levels of a latent: each halving rounds up, down to 1x1', () => {
  assert.deepEqual(levelSizes(9, 13), [[9, 13], [5, 7], [3, 4], [2, 2], [1, 1]]);
});

test('a region LoRA in regional cross-attention equals the masked-delta definition computed in float64', async () => {
  const f = fixtureFile('tiny-sd15.safetensors');
  const get = (name: string) => f.readFloat32(`${PREFIX}${PATH}.${name}`);
  const [inner, c] = f.tensors.get(`${PREFIX}${PATH}.to_q.weight`)!.shape;
  const d = f.tensors.get(`${PREFIX}${PATH}.to_k.weight`)!.shape[1];
  const T = 77;
  const x = values(B * H * W * c, 1);
  const contexts = [0, 1, 2].map((r) => values(B * T * d, 10 + r));
  // region 0 (with the LoRA): the left half, feathered; region 1 (none): a disc overlapping it
  const half: Plane = { width: 64, height: 64, data: Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 64 < 32 ? 1 : 0)) };
  const feathered = [featherPlane(half, 8), featherPlane(disc(64, 36, 30, 18), 6)];
  const weights = normaliseWeights(feathered).map((p) => areaAverage(p, H, W));
  const loraMask = areaAverage(feathered[0], H, W);
  const masks = new Float32Array(3 * B * H * W);
  weights.forEach((m, r) => {
    for (let b = 0; b < B; b++) masks.set(m, (r * B + b) * H * W);
  });
  const loraMasks = new Float32Array(2 * B * H * W);
  for (let b = 0; b < B; b++) loraMasks.set(loraMask, b * H * W); // region 1's row stays 0: it has no LoRA

  const expected = new Float32Array(B * H * W * c);
  const n = H * W;
  for (let b = 0; b < B; b++) {
    const xb = Float64Array.from(x.subarray(b * n * c, (b + 1) * n * c));
    const q = matmulT(xb, n, get('to_q.weight'), c, inner);
    const dq = loraDelta('to_q', xb, n, c);
    for (let p = 0; p < n; p++) for (let o = 0; o < inner; o++) q[p * inner + o] += loraMask[p] * dq[p * inner + o];
    const mixed = new Float64Array(n * inner);
    [0, 1, 2].forEach((r) => {
      const ctx = Float64Array.from(contexts[r].subarray(b * T * d, (b + 1) * T * d));
      const k = matmulT(ctx, T, get('to_k.weight'), d, inner);
      const v = matmulT(ctx, T, get('to_v.weight'), d, inner);
      if (r === 1) {
        const [dk, dv] = [loraDelta('to_k', ctx, T, d), loraDelta('to_v', ctx, T, d)];
        k.forEach((_, i) => ((k[i] += dk[i]), (v[i] += dv[i])));
      }
      const a = attentionRef(q, k, v, n, T, inner);
      for (let p = 0; p < n; p++) for (let o = 0; o < inner; o++) mixed[p * inner + o] += weights[r][p] * a[p * inner + o];
    });
    const out = matmulT(mixed, n, get('to_out.0.weight'), inner, c);
    const dOut = loraDelta('to_out_0', mixed, n, inner);
    const bias = get('to_out.0.bias');
    for (let p = 0; p < n; p++) for (let o = 0; o < c; o++) expected[(b * n + p) * c + o] = out[p * c + o] + bias[o] + loraMask[p] * dOut[p * c + o];
  }

  for (const fusedAttention of [true, false]) {
    const g = new Graph({ fusedAttention });
    const lora = fixtureFile('tiny-lora.safetensors');
    const own = new LoraSet(g, 'float32', [{ file: lora, modules: indexLoraFile(lora), strength: g.input(regionLoraStrengthName(0, 0), 'float32', [1]) }], unetLoraName(detectUnet(f)));
    const adapter = new RegionalLoraSet(g, 'float32', null, [own, null], { batch: B, height: H, width: W });
    const xIn = g.input('x', 'float32', [B, H * W, c]);
    const context = declareTextContext(g, B, T, d, [T, T]);
    assert.ok(context instanceof RegionalContext);
    const w = new Weights(g, f, PREFIX, 'float32', adapter).sub(PATH);
    const out = regionalCrossAttention(w, xIn, context, HEADS, H, W);
    const session = await ModelSession.create(emitOnnx({ out }), { providers: ['cpu'] });
    const result = await session.run({
      x: { dtype: 'float32', shape: [B, H * W, c], data: x },
      context: { dtype: 'float32', shape: [B, T, d], data: contexts[0] },
      region_context_0: { dtype: 'float32', shape: [B, T, d], data: contexts[1] },
      region_context_1: { dtype: 'float32', shape: [B, T, d], data: contexts[2] },
      [regionMaskInputName(H, W)]: { dtype: 'float32', shape: [3, B, H, W], data: masks },
      [regionLoraMaskInputName(H, W)]: { dtype: 'float32', shape: [2, B, H, W], data: loraMasks },
      [regionLoraStrengthName(0, 0)]: { dtype: 'float32', shape: [1], data: Float32Array.of(STRENGTH) },
    });
    const err = relativeError(result.out.data as Float32Array, expected);
    assert.ok(err < MODULE_TOLERANCE, `${fusedAttention ? 'fused' : 'plain'} attention: error ${err}`);
    await session.release();
  }
});
