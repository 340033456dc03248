// The SD1.5 UNet as the LDM code defines it (`openaimodel.UNetModel`), walking the checkpoint's own key paths.
// It takes the 13 ControlNet residuals as optional inputs (12 skip connections + the middle block), added the
// way LDM's ControlledUnetModel and diffusers add them, so any number of ControlNets/CtrLoRA conditions can be
// summed outside and fed in. The same block functions serve the ControlNet encoder copy (controlnet.ts).

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node, graphOptionsOf, type GraphOptions } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { attention, conv2d, gelu, groupNorm, layerNorm, linear, silu, upsampleNearest2x } from './layers.ts';
import { castContext, declareTextContext, RegionalContext, regionalCrossAttention, type TextContext } from './regional-attention.ts';
import { detectUnet, type UnetConfig, type UnetLayer } from './unet-config.ts';
import { type LayerAdapter, Weights } from './weights.ts';

/** Sinusoidal timestep embedding (LDM `timestep_embedding`, cos first), computed in float32. t [B] -> [B, dim]. */
export function timestepEmbedding(t: Node, dim: number): Node {
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
  const args = op.mul(op.reshape(op.cast(t, 'float32'), [t.shape[0], 1]), op.constantOf(t.graph, 'float32', [1, half], freqs, 'freqs'));
  const { sin, cos } = sinCos(args);
  const emb = op.concat([cos, sin], 1);
  if (dim % 2 === 1) throw new GraphError(`odd timestep embedding width ${dim} is not supported`);
  return emb; // [B, dim]
}

/**
 * sin and cos to about 4e-7 as float32 polynomials rather than the Sin and Cos ops: a shader's sin and cos need
 * only be accurate to 2^-11 (Vulkan; SwiftShader's are off by 1.9e-4 even within [-pi, pi]), and that error in
 * the embedding moved unet.eps by 5e-3 on the WebGPU provider. On the CPU the result moves by about 4e-7.
 */
function sinCos(x: Node): { sin: Node; cos: Node } {
  const r = reduceAngle(x); // [-pi, pi]
  const r2 = op.mul(r, r);
  const g = x.graph;
  // Taylor series to r^19 and r^18: the first left-out terms are below 4e-8 at |r| = pi.
  const horner = (coeffs: number[]) => coeffs.slice(0, -1).reduceRight((p, c) => op.add(op.mul(p, r2), op.scalar(g, c)), op.scalar(g, coeffs[coeffs.length - 1]));
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const terms = Array.from({ length: 10 }, (_, k) => k);
  return {
    sin: op.mul(r, horner(terms.map((k) => (k % 2 ? -1 : 1) / factorial(2 * k + 1)))),
    cos: horner(terms.map((k) => (k % 2 ? -1 : 1) / factorial(2 * k))),
  };
}

/**
 * x - 2 pi k with k = round(x / 2 pi), to about 1e-8 (Cody-Waite): 2 pi is split into a part of 8 significant
 * bits, whose product with k (at most 11 bits for timesteps below 10^4) is exact, and the rest, so subtracting
 * the large part loses nothing. Timesteps are not negative, so the cast's truncation rounds k.
 */
function reduceAngle(x: Node): Node {
  const g = x.graph;
  const twoPiHi = 6.28125;
  const twoPiLo = 2 * Math.PI - twoPiHi;
  const k = op.cast(op.cast(op.add(op.mul(x, op.scalar(g, 1 / (2 * Math.PI))), op.scalar(g, 0.5)), 'int32'), 'float32');
  return op.sub(op.sub(x, op.mul(k, op.scalar(g, twoPiHi))), op.mul(k, op.scalar(g, twoPiLo)));
}

/** time_embed.0 -> SiLU -> time_embed.2, in the compute dtype. */
export function timeEmbed(w: Weights, t: Node, modelChannels: number): Node {
  const emb = op.cast(timestepEmbedding(t, modelChannels), w.compute);
  return linear(w.sub('time_embed').sub(2), silu(linear(w.sub('time_embed').sub(0), emb)));
}

/** GroupNorm group count for a channel count: SD1.5 always uses 32. */
export type GroupsFor = (channels: number) => number;
const SD_GROUPS: GroupsFor = () => 32;

/** LDM ResBlock: GN-SiLU-conv, + time embedding, GN-SiLU-conv, + (1x1 skip) input. */
export function resBlock(w: Weights, x: Node, emb: Node, groups: GroupsFor = SD_GROUPS): Node {
  let h = conv2d(w.sub('in_layers').sub(2), silu(groupNorm(w.sub('in_layers').sub(0), x, groups(x.shape[1]), 1e-5)));
  const e = linear(w.sub('emb_layers').sub(1), silu(emb)); // [B, C]
  h = op.add(h, op.reshape(e, [e.shape[0], e.shape[1], 1, 1]));
  if (w.loras?.joinAtPositions) h = w.loras.joinAtPositions(w.sub('emb_layers').sub(1).path, silu(emb), h); // region LoRAs, masked
  h = conv2d(w.sub('out_layers').sub(3), silu(groupNorm(w.sub('out_layers').sub(0), h, groups(h.shape[1]), 1e-5)));
  const skip = w.hasModule('skip_connection') ? conv2d(w.sub('skip_connection'), x, { padding: 0 }) : x;
  return op.add(skip, h);
}

function crossAttention(w: Weights, x: Node, context: TextContext | null, heads: number, size: readonly [number, number]): Node {
  if (context instanceof RegionalContext) return regionalCrossAttention(w, x, context, heads, size[0], size[1]);
  const ctx = context ?? x;
  const q = linear(w.sub('to_q'), x);
  const k = linear(w.sub('to_k'), ctx);
  const v = linear(w.sub('to_v'), ctx);
  return linear(w.sub('to_out').sub(0), attention(q, k, v, heads));
}

function feedForward(w: Weights, x: Node): Node {
  const proj = linear(w.sub('net').sub(0).sub('proj'), x); // [B, T, 2 * inner] GEGLU
  const inner = proj.shape[2] / 2;
  const value = op.slice(proj, 2, 0, inner);
  const gate = op.slice(proj, 2, inner, 2 * inner);
  return linear(w.sub('net').sub(2), op.mul(value, gelu(gate)));
}

/** LDM SpatialTransformer: GN, proj_in, BasicTransformerBlocks (self-attn, cross-attn, GEGLU), proj_out, + input. */
export function spatialTransformer(w: Weights, x: Node, context: TextContext, layer: Extract<UnetLayer, { kind: 'transformer' }>, heads: number): Node {
  const [b, c, hgt, wid] = x.shape;
  const normed = groupNorm(w.sub('norm'), x, 32, 1e-6);
  const toTokens = (t: Node) => op.transpose(op.reshape(t, [b, t.shape[1], hgt * wid]), [0, 2, 1]); // [B, HW, C]
  let h = layer.linearProj ? linear(w.sub('proj_in'), toTokens(normed)) : toTokens(conv2d(w.sub('proj_in'), normed, { padding: 0 }));
  for (let i = 0; i < layer.depth; i++) {
    const blk = w.sub('transformer_blocks').sub(i);
    h = op.add(h, crossAttention(blk.sub('attn1'), layerNorm(blk.sub('norm1'), h), null, heads, [hgt, wid]));
    h = op.add(h, crossAttention(blk.sub('attn2'), layerNorm(blk.sub('norm2'), h), context, heads, [hgt, wid]));
    h = op.add(h, feedForward(blk.sub('ff'), layerNorm(blk.sub('norm3'), h)));
  }
  const inner = h.shape[2];
  const toImage = (t: Node) => op.reshape(op.transpose(t, [0, 2, 1]), [b, t.shape[2], hgt, wid]);
  const out = layer.linearProj ? toImage(linear(w.sub('proj_out'), h)) : conv2d(w.sub('proj_out'), toImage(h), { padding: 0 });
  if (out.shape[1] !== c) throw new GraphError(`${w.key('proj_out')}: maps ${inner} to ${out.shape[1]} channels, expected ${c}`);
  return op.add(out, x);
}

/** Runs one LDM block (a list of layers). `groups` sets the ResBlock norms' group count (ControlNet-XS). */
/**
 * Runs one LDM block (a list of layers). `upsampleTo` is the spatial size [H, W] of the skip connection the next
 * block concatenates: a 2x upsample of an odd size (sizes that are multiples of 8 but not 64) overshoots by one
 * and is cropped there before its conv, which equals diffusers' nearest interpolation to `upsample_size`.
 */
export function runLayers(
  w: Weights,
  layers: readonly UnetLayer[],
  x: Node,
  emb: Node,
  context: TextContext,
  heads: number,
  groups: GroupsFor = SD_GROUPS,
  upsampleTo: readonly number[] | null = null,
): Node {
  let h = x;
  for (const layer of layers) {
    const lw = w.sub(layer.path);
    if (layer.kind === 'res') h = resBlock(lw, h, emb, groups);
    else if (layer.kind === 'transformer') h = spatialTransformer(lw, h, context, layer, heads);
    else if (layer.kind === 'down') h = conv2d(lw.sub('op'), h, { stride: 2, padding: 1 });
    else {
      let up = upsampleNearest2x(h); // [B, C, 2H, 2W]
      if (upsampleTo) up = op.slice(op.slice(up, 2, 0, upsampleTo[0]), 3, 0, upsampleTo[1]);
      h = conv2d(lw.sub('conv'), up);
    }
  }
  return h;
}

export interface UnetInputs {
  sample: Node; // [B, Cin, H, W]
  timestep: Node; // [B] float32
  context: TextContext; // [B, T, D], or with regions (regional-attention.ts)
  /** 12 skip residuals + 1 middle residual, already weighted and summed; null for plain UNet. */
  control: Node[] | null;
  /** Sees every block's output in order (training keeps these and recomputes the rest in the backward). */
  onBlockOutput?: (h: Node) => void;
}

export function unet(w: Weights, cfg: UnetConfig, inputs: UnetInputs): Node {
  const emb = timeEmbed(w, inputs.timestep, cfg.modelChannels);
  const context = castContext(inputs.context, w.compute);
  const seen = inputs.onBlockOutput ?? (() => {});
  let h = conv2d(w.sub('input_blocks').sub(0).sub(0), op.cast(inputs.sample, w.compute));
  seen(h);
  const skips: Node[] = [h];
  for (const block of cfg.inputBlocks.slice(1)) {
    h = runLayers(w, block.layers, h, emb, context, cfg.heads);
    seen(h);
    skips.push(h);
  }
  h = runLayers(w, cfg.middle, h, emb, context, cfg.heads);
  seen(h);
  const control = inputs.control?.map((c) => op.cast(c, w.compute)) ?? null;
  if (control) {
    if (control.length !== skips.length + 1) throw new GraphError(`UNet expects ${skips.length + 1} control residuals, got ${control.length}`);
    h = op.add(h, control[skips.length]);
  }
  for (const block of cfg.outputBlocks) {
    let skip = skips.pop();
    if (!skip) throw new GraphError('UNet output blocks outnumber its skip connections');
    if (control) skip = op.add(skip, control[skips.length]);
    const next = skips[skips.length - 1];
    h = runLayers(w, block.layers, op.concat([h, skip], 1), emb, context, cfg.heads, SD_GROUPS, next ? next.shape.slice(2) : null);
    seen(h);
  }
  h = conv2d(w.sub('out').sub(2), silu(groupNorm(w.sub('out').sub(0), h, 32, 1e-5)));
  return op.cast(h, 'float32');
}

/** Shapes of the 13 control residuals for a latent of size h x w. */
export function controlShapes(cfg: UnetConfig, batch: number, h: number, w: number): number[][] {
  const shapes: number[][] = [[batch, cfg.modelChannels, h, w]];
  let ch = cfg.modelChannels;
  for (const block of cfg.inputBlocks.slice(1)) {
    for (const layer of block.layers) {
      if (layer.kind === 'res') ch = layer.outChannels;
      if (layer.kind === 'down') {
        h = Math.ceil(h / 2);
        w = Math.ceil(w / 2);
      }
    }
    shapes.push([batch, ch, h, w]);
  }
  shapes.push([batch, ch, h, w]);
  return shapes;
}

export interface UnetGraphOptions extends GraphOptions {
  batch: number;
  height: number; // latent height
  width: number; // latent width
  tokens: number; // context length (77 x chunks)
  compute?: DataType;
  withControl?: boolean;
  loras?: (g: Graph, cfg: UnetConfig) => LayerAdapter | null;
  /** Token count of each region's context; absent or empty: no regions, the graph of plain generation. */
  regionTokens?: readonly number[];
  /** Per region: the negative rows read its branch too (a region with LoRAs; regional-attention.ts). */
  regionNegativeReads?: readonly boolean[];
}

export const CONTROL_INPUT_NAMES = (n: number) => Array.from({ length: n }, (_, i) => (i === n - 1 ? 'control_mid' : `control_${i}`));

export function buildUnetGraph(file: TensorFile, opts: UnetGraphOptions): { graph: Graph; eps: Node; cfg: UnetConfig } {
  const cfg = detectUnet(file);
  if (cfg.contextDim === 0) throw new GraphError(`${file.path}: UNet has no cross-attention`);
  const g = new Graph(graphOptionsOf(opts));
  const sample = g.input('sample', 'float32', [opts.batch, cfg.inChannels, opts.height, opts.width]);
  const timestep = g.input('timestep', 'float32', [opts.batch]);
  const context = declareTextContext(g, opts.batch, opts.tokens, cfg.contextDim, opts.regionTokens, opts.regionNegativeReads);
  let control: Node[] | null = null;
  if (opts.withControl) {
    const shapes = controlShapes(cfg, opts.batch, opts.height, opts.width);
    control = CONTROL_INPUT_NAMES(shapes.length).map((name, i) => g.input(name, 'float32', shapes[i]));
  }
  const w = new Weights(g, file, cfg.prefix, opts.compute ?? 'float32', opts.loras ? opts.loras(g, cfg) : null);
  return { graph: g, eps: unet(w, cfg, { sample, timestep, context, control }), cfg };
}
