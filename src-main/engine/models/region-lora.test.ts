// A LoRA tied to a region, at block level, against float64 written out here: the regional cross-attention of one
// transformer block (input_blocks.1.1 ... attn2 of the tiny checkpoint) with two overlapping feathered regions, the
// first carrying tiny-lora. By the definition in region-lora.ts: q and to_out add the LoRA delta times the region's
// feathered (not normalised) mask at each position, the region's own keys and values add it in full, the main
// prompt's and the other region's do not, and the branches mix by the normalised weights. And a LoRA with conv and
// time-embedding modules (written here): a ResBlock's conv adds its delta times the mask per pixel, its time-embedding
// projection times the mask where it joins the map, a stride-2 conv reads the mask at its output size, and the
// timestep MLP is left alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { ModelSession } from '../runtime/session.ts';
import { fixtureFile, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { areaAverage, featherPlane, normaliseWeights, type Plane } from '../pipeline/region-masks.ts';
import { indexLoraFile, LoraSet } from './lora.ts';
import { levelSizes, RegionalLoraSet, regionLoraMaskInputName, regionLoraStrengthName } from './region-lora.ts';
import { declareTextContext, RegionalContext, regionalCrossAttention, regionMaskInputName } from './regional-attention.ts';
import { conv2d, linear } from './layers.ts';
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
  // Row 1 (cond) mixes all three; row 0 (uncond), as pipeline/regions.ts feeds it, reads only the main branch and
  // region 0's (it has a LoRA, so its negative is read through it): region 1 weighs 0 there, main takes the rest.
  const rowWeights = [
    [Float32Array.from(weights[1], (v) => 1 - v), weights[1], new Float32Array(H * W)],
    weights,
  ];
  const masks = new Float32Array(3 * B * H * W);
  rowWeights.forEach((row, b) => row.forEach((m, r) => masks.set(m, (r * B + b) * H * W)));
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
      for (let p = 0; p < n; p++) for (let o = 0; o < inner; o++) mixed[p * inner + o] += rowWeights[b][r][p] * a[p * inner + o];
    });
    const out = matmulT(mixed, n, get('to_out.0.weight'), inner, c);
    const dOut = loraDelta('to_out_0', mixed, n, inner);
    const bias = get('to_out.0.bias');
    for (let p = 0; p < n; p++) for (let o = 0; o < c; o++) expected[(b * n + p) * c + o] = out[p * c + o] + bias[o] + loraMask[p] * dOut[p * c + o];
  }

  // float32 with the fused and the plain attention; float16 compute, as on a GPU, within 1e-2
  for (const [fusedAttention, compute, tolerance] of [[true, 'float32', MODULE_TOLERANCE], [false, 'float32', MODULE_TOLERANCE], [true, 'float16', 1e-2]] as const) {
    const g = new Graph({ fusedAttention });
    const lora = fixtureFile('tiny-lora.safetensors');
    const own = new LoraSet(g, compute, [{ file: lora, modules: indexLoraFile(lora), strength: g.input(regionLoraStrengthName(0, 0), 'float32', [1]) }], unetLoraName(detectUnet(f)));
    const adapter = new RegionalLoraSet(g, compute, null, [own, null], { batch: B, height: H, width: W });
    const xIn = g.input('x', 'float32', [B, H * W, c]);
    const context = declareTextContext(g, B, T, d, [T, T], [true, false]);
    assert.ok(context instanceof RegionalContext);
    const w = new Weights(g, f, PREFIX, compute, adapter).sub(PATH);
    const out = op.cast(regionalCrossAttention(w, op.cast(xIn, compute), context.cast(compute), HEADS, H, W), 'float32');
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
    assert.ok(err < tolerance, `${fusedAttention ? 'fused' : 'plain'} attention, ${compute}: error ${err}`);
    await session.release();
  }
});

/** conv2d of x [Cin, H, W] with k [Cout, Cin, kh, kw] (+ bias), padding kh/2, in float64: [Cout, Ho, Wo]. */
function convRef(x: Float64Array, cin: number, h: number, w: number, k: Float32Array, cout: number, kh: number, stride: number, bias: Float32Array | null) {
  const pad = Math.floor(kh / 2);
  const ho = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - kh) / stride) + 1;
  const out = new Float64Array(cout * ho * wo);
  for (let o = 0; o < cout; o++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    let sum = bias ? bias[o] : 0;
    for (let c = 0; c < cin; c++) for (let a = 0; a < kh; a++) for (let b = 0; b < kh; b++) {
      const y = i * stride + a - pad;
      const xx = j * stride + b - pad;
      if (y >= 0 && y < h && xx >= 0 && xx < w) sum += x[(c * h + y) * w + xx] * k[((o * cin + c) * kh + a) * kh + b];
    }
    out[(o * ho + i) * wo + j] = sum;
  }
  return { out, ho, wo };
}

test('a region LoRA on convs and the time-embedding projection: deltas times the mask per pixel, at each conv\'s output size', async () => {
  const f = fixtureFile('tiny-sd15.safetensors');
  const cfg = detectUnet(f);
  const namer = unetLoraName(cfg);
  const res = `${PREFIX}input_blocks.1.0`;
  const downPath = `${PREFIX}input_blocks.3.0.op`;
  const [c, , kh] = f.tensors.get(`${res}.in_layers.2.weight`)!.shape;
  const embDim = f.tensors.get(`${res}.emb_layers.1.weight`)!.shape[1];
  const tDim = f.tensors.get(`${PREFIX}time_embed.0.weight`)!.shape[1];
  const rank = 4;
  const alpha = 2;
  // kohya modules: two convs (3x3 down, 1x1 up), the time-embedding projection, and the timestep MLP's first layer
  const modules: [string, number[], number[]][] = [
    [namer(`${res}.in_layers.2`)!, [rank, c, kh, kh], [c, rank, 1, 1]],
    [namer(`${res}.emb_layers.1`)!, [rank, embDim], [c, rank]],
    [namer(downPath)!, [rank, c, kh, kh], [c, rank, 1, 1]],
    [namer(`${PREFIX}time_embed.0`)!, [rank, tDim], [embDim, rank]],
  ];
  assert.deepEqual(modules.map((m) => m[0]), ['lora_unet_down_blocks_0_resnets_0_conv1', 'lora_unet_down_blocks_0_resnets_0_time_emb_proj', 'lora_unet_down_blocks_0_downsamplers_0_conv', 'lora_unet_time_embedding_linear_1']);
  const tensors = modules.flatMap(([name, down, up], i) => [
    { name: `${name}.lora_down.weight`, dtype: 'F32' as const, shape: down, data: values(down.reduce((a, b) => a * b), 40 + i).map((v) => v * 0.3) },
    { name: `${name}.lora_up.weight`, dtype: 'F32' as const, shape: up, data: values(up.reduce((a, b) => a * b), 50 + i).map((v) => v * 0.3) },
    { name: `${name}.alpha`, dtype: 'F32' as const, shape: [], data: Float32Array.of(alpha) },
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-region-lora-conv-'));
  const loraPath = path.join(dir, 'conv-lora.safetensors');
  writeSafetensors(loraPath, tensors);
  const lora = openTensorFile(loraPath);

  const x = values(B * c * H * W, 3);
  const emb = values(B * embDim, 4);
  const t = values(B * tDim, 5);
  const half: Plane = { width: 64, height: 64, data: Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 64 < 24 ? 1 : 0)) };
  const feathered = featherPlane(half, 6);
  const mask8 = areaAverage(feathered, H, W);
  const mask4 = areaAverage(feathered, H / 2, W / 2);
  const scale = STRENGTH * (alpha / rank);
  const get = (key: string) => f.readFloat32(key);
  const loraOf = (i: number) => [tensors[i * 3].data, tensors[i * 3 + 1].data] as const;

  // float64: h = conv1(x) + m * d_conv1(x) + proj(emb) + m * d_proj(emb); down = op(h) + m4 * d_op(h); te = time_embed.0(t)
  const expected = { h: new Float32Array(B * c * H * W), down: new Float32Array(B * c * (H / 2) * (W / 2)), te: new Float32Array(B * embDim) };
  for (let b = 0; b < B; b++) {
    const xb = Float64Array.from(x.subarray(b * c * H * W, (b + 1) * c * H * W));
    const base = convRef(xb, c, H, W, get(`${res}.in_layers.2.weight`), c, kh, 1, get(`${res}.in_layers.2.bias`)).out;
    const [d1, u1] = loraOf(0);
    const delta = convRef(convRef(xb, c, H, W, d1, rank, kh, 1, null).out, rank, H, W, u1, c, 1, 1, null).out;
    const eb = Float64Array.from(emb.subarray(b * embDim, (b + 1) * embDim));
    const proj = matmulT(eb, 1, get(`${res}.emb_layers.1.weight`), embDim, c);
    const projBias = get(`${res}.emb_layers.1.bias`);
    const [d2, u2] = loraOf(1);
    const dProj = matmulT(matmulT(eb, 1, d2, embDim, rank), 1, u2, rank, c);
    const h = new Float64Array(c * H * W);
    for (let o = 0; o < c; o++) for (let p = 0; p < H * W; p++) {
      h[o * H * W + p] = base[o * H * W + p] + mask8[p] * scale * delta[o * H * W + p] + proj[o] + projBias[o] + mask8[p] * scale * dProj[o];
    }
    expected.h.set(h, b * c * H * W);
    const down = convRef(h, c, H, W, get(`${downPath}.weight`), c, kh, 2, get(`${downPath}.bias`));
    const [d3, u3] = loraOf(2);
    const dDown = convRef(convRef(h, c, H, W, d3, rank, kh, 2, null).out, rank, down.ho, down.wo, u3, c, 1, 1, null).out;
    const n4 = down.ho * down.wo;
    expected.down.set(down.out.map((v, i) => v + mask4[i % n4] * scale * dDown[i]), b * c * n4);
    const tb = Float64Array.from(t.subarray(b * tDim, (b + 1) * tDim));
    const tBias = get(`${PREFIX}time_embed.0.bias`);
    expected.te.set(matmulT(tb, 1, get(`${PREFIX}time_embed.0.weight`), tDim, embDim).map((v, i) => v + tBias[i]), b * embDim);
  }

  const g = new Graph({});
  const own = new LoraSet(g, 'float32', [{ file: lora, modules: indexLoraFile(lora), strength: g.input(regionLoraStrengthName(0, 0), 'float32', [1]) }], namer);
  const adapter = new RegionalLoraSet(g, 'float32', null, [own], { batch: B, height: H, width: W });
  const w = new Weights(g, f, PREFIX, 'float32', adapter);
  const rw = w.sub('input_blocks').sub(1).sub(0);
  const xIn = g.input('x', 'float32', [B, c, H, W]);
  const embIn = g.input('emb', 'float32', [B, embDim]);
  const tIn = g.input('t', 'float32', [B, tDim]);
  let h = conv2d(rw.sub('in_layers').sub(2), xIn);
  const e = linear(rw.sub('emb_layers').sub(1), embIn);
  h = op.add(h, op.reshape(e, [B, c, 1, 1]));
  h = adapter.joinAtPositions(rw.sub('emb_layers').sub(1).path, embIn, h); // as unet.ts resBlock does
  const down = conv2d(w.sub('input_blocks').sub(3).sub(0).sub('op'), h, { stride: 2, padding: 1 });
  const te = linear(w.sub('time_embed').sub(0), tIn);
  const session = await ModelSession.create(emitOnnx({ h, down, te }), { providers: ['cpu'] });
  const loraMasks = (m: Float32Array) => Float32Array.from({ length: B * m.length }, (_, i) => m[i % m.length]);
  const out = await session.run({
    x: { dtype: 'float32', shape: [B, c, H, W], data: x },
    emb: { dtype: 'float32', shape: [B, embDim], data: emb },
    t: { dtype: 'float32', shape: [B, tDim], data: t },
    [regionLoraMaskInputName(H, W)]: { dtype: 'float32', shape: [1, B, H, W], data: loraMasks(mask8) },
    [regionLoraMaskInputName(H / 2, W / 2)]: { dtype: 'float32', shape: [1, B, H / 2, W / 2], data: loraMasks(mask4) },
    [regionLoraStrengthName(0, 0)]: { dtype: 'float32', shape: [1], data: Float32Array.of(STRENGTH) },
  });
  for (const name of ['h', 'down', 'te'] as const) {
    const err = relativeError(out[name].data as Float32Array, expected[name]);
    assert.ok(err < MODULE_TOLERANCE, `${name}: error ${err}`);
  }
  await session.release();
  lora.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
