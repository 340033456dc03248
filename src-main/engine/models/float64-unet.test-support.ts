// An independent SD1.5 UNet in plain float64, for checking the engine's graphs (regional prompting above all)
// against a computation that shares none of their code. It walks the LDM checkpoint's own key paths
// (`model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_q.weight`) and reads every size from the
// tensors' shapes: channel counts, which block holds a ResBlock, a SpatialTransformer, a down- or upsampler, the
// transformer depth, the context width, the feed-forward width. Heads: SD1.5's config fixes `num_heads: 8` (not the
// head width), the rule the engine also follows (models/unet-config.ts).
//
// Definitions followed (diffusers 0.27 / LDM, which the fixture's goldens come from):
// - timestep embedding: half = dim / 2, freq_i = exp(-ln(10000) i / half) (freq_shift 0), [cos(t f), sin(t f)]
//   (flip_sin_to_cos), then Linear, SiLU, Linear;
// - ResBlock: GroupNorm(32, eps 1e-5), SiLU, conv3x3, + Linear(SiLU(emb)), GroupNorm, SiLU, conv3x3, + skip
//   (1x1 conv where the width changes);
// - SpatialTransformer: GroupNorm(32, eps 1e-6), proj_in (1x1 conv or Linear), blocks of LayerNorm (eps 1e-5) +
//   self-attention, LayerNorm + cross-attention, LayerNorm + GEGLU feed-forward (value * GELU(gate)), each
//   residual, proj_out, + input;
// - down: conv3x3 stride 2 pad 1; up: nearest x2 then conv3x3; output blocks concatenate [h, skip].
//
// Regional cross-attention is the formula taken literally: each text part has its own keys, values,
// attention AND output projection, and the outputs are summed with the part's weight at each position,
// out(p) = sum_r w_r(p) * CrossAttn(x, context_r)(p).

import type { TensorFile } from '../../formats/tensor-file.ts';
import {
  attention, concatChannels, conv2d, fromTokens, gelu, groupNorm, layerNorm, linear, silu, toTokens, upsampleNearest2, type Map64,
} from './float64-layers.test-support.ts';

const PREFIX = 'model.diffusion_model.';
const HEADS = 8;
const GROUPS = 32;

/** One text a cross-attention reads: [T, D] tokens, and its weight per position at an attention's h x w. */
export interface TextPart {
  context: Float64Array; // [T, D]
  tokens: number;
  /** Weights [h * w] at that resolution; absent for a single part (plain cross-attention). */
  weightAt?: (h: number, w: number) => Float64Array;
}

type LayerKind = 'res' | 'transformer' | 'down' | 'up';

/** The UNet's weights, read on demand from the checkpoint (float32 on disk, float64 here) and kept. */
export class Float64Unet {
  private readonly cache = new Map<string, Float64Array>();
  private readonly childCounts = new Map<string, number>();

  constructor(private readonly file: TensorFile) {
    if (!file.tensors.has(`${PREFIX}input_blocks.0.0.weight`)) throw new Error(`${file.path}: no LDM UNet in this file`);
  }

  private has(name: string): boolean {
    return this.file.tensors.has(PREFIX + name);
  }

  private shape(name: string): readonly number[] {
    const e = this.file.tensors.get(PREFIX + name);
    if (!e) throw new Error(`missing tensor ${PREFIX + name}`);
    return e.shape;
  }

  private get(name: string): Float64Array {
    let v = this.cache.get(name);
    if (!v) {
      this.shape(name);
      v = Float64Array.from(this.file.readFloat32(PREFIX + name));
      this.cache.set(name, v);
    }
    return v;
  }

  /** How many `<base>.<n>.` children the checkpoint has (input_blocks, output_blocks, transformer_blocks). */
  private children(base: string): number {
    const known = this.childCounts.get(base);
    if (known !== undefined) return known;
    let n = 0;
    const head = `${PREFIX}${base}.`;
    for (const key of this.file.tensors.keys()) {
      if (!key.startsWith(head)) continue;
      const i = Number(key.slice(head.length).split('.')[0]);
      if (Number.isInteger(i)) n = Math.max(n, i + 1);
    }
    this.childCounts.set(base, n);
    return n;
  }

  private kindOf(path: string): LayerKind {
    if (this.has(`${path}.in_layers.2.weight`)) return 'res';
    if (this.has(`${path}.proj_in.weight`)) return 'transformer';
    if (this.has(`${path}.op.weight`)) return 'down';
    if (this.has(`${path}.conv.weight`)) return 'up';
    throw new Error(`${path}: not a layer this reference knows`);
  }

  private conv(x: Map64, path: string, stride = 1): Map64 {
    const [o, , k] = this.shape(`${path}.weight`);
    return conv2d(x, this.get(`${path}.weight`), this.get(`${path}.bias`), o, k, stride, (k - 1) / 2);
  }

  private norm(x: Map64, path: string, eps: number): Map64 {
    return groupNorm(x, GROUPS, this.get(`${path}.weight`), this.get(`${path}.bias`), eps);
  }

  private dense(x: Float64Array, t: number, path: string, bias = true): Float64Array {
    const [out, inW] = this.shape(`${path}.weight`);
    return linear(x, t, this.get(`${path}.weight`), bias ? this.get(`${path}.bias`) : null, inW, out);
  }

  /** Sinusoidal timestep features -> time_embed MLP. */
  timeEmbedding(t: number): Float64Array {
    const dim = this.shape('time_embed.0.weight')[1];
    const half = dim / 2;
    const feats = new Float64Array(dim);
    for (let i = 0; i < half; i++) {
      const arg = t * Math.exp((-Math.log(10000) * i) / half);
      feats[i] = Math.cos(arg);
      feats[half + i] = Math.sin(arg);
    }
    const h = this.dense(feats, 1, 'time_embed.0').map(silu);
    return this.dense(h, 1, 'time_embed.2');
  }

  private resBlock(x: Map64, path: string, emb: Float64Array): Map64 {
    let h = this.norm(x, `${path}.in_layers.0`, 1e-5);
    h = this.conv({ ...h, data: h.data.map(silu) }, `${path}.in_layers.2`);
    const shift = this.dense(emb.map(silu), 1, `${path}.emb_layers.1`); // [C_out]
    const hw = h.h * h.w;
    for (let ch = 0; ch < h.c; ch++) for (let p = 0; p < hw; p++) h.data[ch * hw + p] += shift[ch];
    h = this.norm(h, `${path}.out_layers.0`, 1e-5);
    h = this.conv({ ...h, data: h.data.map(silu) }, `${path}.out_layers.3`);
    const skip = this.has(`${path}.skip_connection.weight`) ? this.conv(x, `${path}.skip_connection`) : x;
    return { ...h, data: h.data.map((v, i) => v + skip.data[i]) };
  }

  /** CrossAttn(x, ctx) with `to_out`: tokens x [T, C] and context [Tk, D] -> [T, C]. */
  private crossAttention(x: Float64Array, t: number, path: string, ctx: Float64Array, tk: number): Float64Array {
    const inner = this.shape(`${path}.to_q.weight`)[0];
    const q = this.dense(x, t, `${path}.to_q`, false);
    const k = this.dense(ctx, tk, `${path}.to_k`, false);
    const v = this.dense(ctx, tk, `${path}.to_v`, false);
    return this.dense(attention(q, k, v, t, tk, inner, HEADS), t, `${path}.to_out.0`);
  }

  private regionalCrossAttention(x: Float64Array, t: number, c: number, path: string, text: readonly TextPart[], h: number, w: number): Float64Array {
    if (text.length === 1 && !text[0].weightAt) return this.crossAttention(x, t, path, text[0].context, text[0].tokens);
    const out = new Float64Array(t * c);
    for (const part of text) {
      const weights = part.weightAt!(h, w); // [h * w]
      const a = this.crossAttention(x, t, path, part.context, part.tokens);
      for (let p = 0; p < t; p++) for (let ch = 0; ch < c; ch++) out[p * c + ch] += weights[p] * a[p * c + ch];
    }
    return out;
  }

  private transformer(x: Map64, path: string, text: readonly TextPart[]): Map64 {
    const { c: inC, h, w } = x;
    const t = h * w;
    const normed = this.norm(x, `${path}.norm`, 1e-6);
    const linearProj = this.shape(`${path}.proj_in.weight`).length === 2;
    const c = this.shape(`${path}.proj_in.weight`)[0];
    let tokens = linearProj ? this.dense(toTokens(normed), t, `${path}.proj_in`) : toTokens(this.conv(normed, `${path}.proj_in`)); // [T, C]
    const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
    const ln = (v: Float64Array, name: string) => layerNorm(v, t, c, this.get(`${name}.weight`), this.get(`${name}.bias`), 1e-5);
    for (let d = 0; d < this.children(`${path}.transformer_blocks`); d++) {
      const b = `${path}.transformer_blocks.${d}`;
      const n1 = ln(tokens, `${b}.norm1`);
      tokens = add(tokens, this.crossAttention(n1, t, `${b}.attn1`, n1, t));
      tokens = add(tokens, this.regionalCrossAttention(ln(tokens, `${b}.norm2`), t, c, `${b}.attn2`, text, h, w));
      const proj = this.dense(ln(tokens, `${b}.norm3`), t, `${b}.ff.net.0.proj`); // [T, 2 * F]: value, gate
      const f = proj.length / t / 2;
      const geglu = new Float64Array(t * f);
      for (let i = 0; i < t; i++) for (let j = 0; j < f; j++) geglu[i * f + j] = proj[i * 2 * f + j] * gelu(proj[i * 2 * f + f + j]);
      tokens = add(tokens, this.dense(geglu, t, `${b}.ff.net.2`));
    }
    const out = linearProj ? fromTokens(this.dense(tokens, t, `${path}.proj_out`), inC, h, w) : this.conv(fromTokens(tokens, c, h, w), `${path}.proj_out`);
    return { ...out, data: out.data.map((v, i) => v + x.data[i]) };
  }

  private layer(x: Map64, path: string, emb: Float64Array, text: readonly TextPart[]): Map64 {
    switch (this.kindOf(path)) {
      case 'res':
        return this.resBlock(x, path, emb);
      case 'transformer':
        return this.transformer(x, path, text);
      case 'down':
        return this.conv(x, `${path}.op`, 2);
      case 'up':
        return this.conv(upsampleNearest2(x), `${path}.conv`);
    }
  }

  private block(x: Map64, path: string, emb: Float64Array, text: readonly TextPart[]): Map64 {
    let h = x;
    for (let j = 0; j < this.children(path); j++) h = this.layer(h, `${path}.${j}`, emb, text);
    return h;
  }

  /** eps for one image: x [C, H, W] latents, timestep t, the text (one part, or weighted parts). */
  forward(x: Map64, t: number, text: readonly TextPart[]): Map64 {
    const emb = this.timeEmbedding(t);
    let h = this.conv(x, 'input_blocks.0.0');
    const skips: Map64[] = [h];
    for (let i = 1; i < this.children('input_blocks'); i++) {
      h = this.block(h, `input_blocks.${i}`, emb, text);
      skips.push(h);
    }
    h = this.block(h, 'middle_block', emb, text);
    for (let i = 0; i < this.children('output_blocks'); i++) h = this.block(concatChannels(h, skips.pop()!), `output_blocks.${i}`, emb, text);
    if (skips.length) throw new Error(`${skips.length} skip connections left over`);
    h = this.norm(h, 'out.0', 1e-5);
    return this.conv({ ...h, data: h.data.map(silu) }, 'out.2');
  }
}
