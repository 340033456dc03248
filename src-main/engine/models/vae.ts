// The Stable Diffusion VAE in the original LDM layout (`AutoencoderKL` of ldm/modules/diffusionmodules/model.py),
// as single-file checkpoints carry it under `first_stage_model.` and standalone VAE files carry it from
// `encoder.`/`decoder.`. The module tree below walks those key paths: `decoder.up.N.block.M`, `mid.attn_1`...
// Everything the graph needs is read from tensor shapes (channels per level, res blocks, latent width), so the
// tiny test model and a real SD1.5 VAE (128/256/512/512 channels) take the same code.
//
// Graph boundaries use the latent as samplers produce it (multiplied by the scaling factor 0.18215 in SD1.5):
// the decoder divides by the factor and the encoder multiplies its posterior mean by it, inside the graph.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node, graphOptionsOf, type GraphOptions } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { attention, conv2d, groupNorm, silu, upsampleNearest2x } from './layers.ts';
import { Weights } from './weights.ts';

/** Single-file checkpoints, then standalone VAE files (keys from `encoder.`/`decoder.`). */
export const VAE_PREFIXES = ['first_stage_model.', ''];

/** SD1.5's latent scaling factor (`scale_factor` in the LDM config, `scaling_factor` in diffusers). */
export const SD15_VAE_SCALE = 0.18215;

/** LDM's Normalize(): GroupNorm(32 groups, eps 1e-6, affine). */
const GROUPS = 32;
const EPS = 1e-6;

export interface VaeConfig {
  prefix: string;
  /** Channels of each resolution level, level 0 (full image resolution) first. */
  channels: number[];
  levels: number;
  /** `num_res_blocks`: ResnetBlocks per encoder level; decoder levels have one more. */
  resBlocks: number;
  /** Channels of the latent the UNet sees (`embed_dim`). */
  latentChannels: number;
  /** Channels between encoder/decoder and the quant convs (`z_channels`). */
  zChannels: number;
  midAttention: boolean;
  hasEncoder: boolean;
  /** Image pixels per latent pixel along one axis: 2^(levels-1). */
  downFactor: number;
  groups: number;
  eps: number;
}

function countWhile(has: (i: number) => boolean): number {
  let n = 0;
  while (has(n)) n++;
  return n;
}

export function detectVae(file: TensorFile): VaeConfig {
  const prefix = VAE_PREFIXES.find((p) => file.tensors.has(`${p}decoder.conv_in.weight`) && file.tensors.has(`${p}decoder.up.0.block.0.conv1.weight`));
  if (prefix === undefined) {
    throw new GraphError(`${file.path}: no VAE in the LDM layout (first_stage_model.decoder.* or decoder.up.N.*) in this file`);
  }
  const shape = (key: string) => file.tensors.get(prefix + key)?.shape;
  const levels = countWhile((i) => file.tensors.has(`${prefix}decoder.up.${i}.block.0.conv1.weight`));
  const channels: number[] = [];
  for (let i = 0; i < levels; i++) channels.push(shape(`decoder.up.${i}.block.0.conv1.weight`)![0]);
  const decoderBlocks = countWhile((j) => file.tensors.has(`${prefix}decoder.up.0.block.${j}.conv1.weight`));
  for (let i = 1; i < levels; i++) {
    const n = countWhile((j) => file.tensors.has(`${prefix}decoder.up.${i}.block.${j}.conv1.weight`));
    if (n !== decoderBlocks) throw new GraphError(`${file.path}: VAE decoder level ${i} has ${n} res blocks, level 0 has ${decoderBlocks}`);
  }
  const convIn = shape('decoder.conv_in.weight')!; // [block_in, z_channels, 3, 3]
  if (convIn[0] !== channels[levels - 1]) {
    throw new GraphError(`${file.path}: VAE decoder.conv_in has ${convIn[0]} outputs, the deepest level has ${channels[levels - 1]} channels`);
  }
  const zChannels = convIn[1];
  const postQuant = shape('post_quant_conv.weight'); // [z_channels, embed_dim, 1, 1]
  const hasEncoder = file.tensors.has(`${prefix}encoder.conv_in.weight`);
  if (hasEncoder) {
    const encBlocks = countWhile((j) => file.tensors.has(`${prefix}encoder.down.0.block.${j}.conv1.weight`));
    if (encBlocks + 1 !== decoderBlocks) {
      throw new GraphError(`${file.path}: VAE encoder has ${encBlocks} res blocks per level, the decoder ${decoderBlocks} (expected one more)`);
    }
  }
  return {
    prefix,
    channels,
    levels,
    resBlocks: decoderBlocks - 1,
    latentChannels: postQuant ? postQuant[1] : zChannels,
    zChannels,
    midAttention: file.tensors.has(`${prefix}decoder.mid.attn_1.q.weight`),
    hasEncoder,
    downFactor: 2 ** (levels - 1),
    groups: GROUPS,
    eps: EPS,
  };
}

/** A 1x1 convolution; some converted VAEs store the attention projections as linear [out, in] matrices. */
function pointwise(w: Weights, x: Node): Node {
  let weight = w.get('weight');
  if (weight.rank === 2) weight = op.reshape(weight, [...weight.shape, 1, 1]); // [Cout, Cin, 1, 1]
  return op.conv(x, weight, w.has('bias') ? w.get('bias') : null);
}

/** LDM ResnetBlock: norm1, SiLU, conv1, norm2, SiLU, conv2, plus the (1x1 or 3x3) shortcut when widths differ. */
function resnetBlock(w: Weights, cfg: VaeConfig, x: Node): Node {
  let h = conv2d(w.sub('conv1'), silu(groupNorm(w.sub('norm1'), x, cfg.groups, cfg.eps)));
  h = conv2d(w.sub('conv2'), silu(groupNorm(w.sub('norm2'), h, cfg.groups, cfg.eps)));
  let skip = x;
  if (w.hasModule('nin_shortcut')) skip = pointwise(w.sub('nin_shortcut'), x);
  else if (w.hasModule('conv_shortcut')) skip = conv2d(w.sub('conv_shortcut'), x);
  return op.add(skip, h); // [B, Cout, H, W]
}

/** LDM AttnBlock: single-head self-attention over all positions, 1x1 convs for q, k, v and proj_out. */
function attnBlock(w: Weights, cfg: VaeConfig, x: Node): Node {
  const [b, c, hgt, wid] = x.shape;
  const h = groupNorm(w.sub('norm'), x, cfg.groups, cfg.eps);
  const tokens = (t: Node) => op.transpose(op.reshape(t, [b, c, hgt * wid]), [0, 2, 1]); // [B, HW, C]
  const out = attention(tokens(pointwise(w.sub('q'), h)), tokens(pointwise(w.sub('k'), h)), tokens(pointwise(w.sub('v'), h)), 1);
  const spatial = op.reshape(op.transpose(out, [0, 2, 1]), [b, c, hgt, wid]); // [B, C, H, W]
  return op.add(x, pointwise(w.sub('proj_out'), spatial));
}

function mid(w: Weights, cfg: VaeConfig, x: Node): Node {
  let h = resnetBlock(w.sub('block_1'), cfg, x);
  if (cfg.midAttention) h = attnBlock(w.sub('attn_1'), cfg, h);
  return resnetBlock(w.sub('block_2'), cfg, h);
}

/** Attention inside a level (LDM's attn_resolutions; empty in SD, kept so other LDM VAEs load). */
function levelAttention(level: Weights, j: number, cfg: VaeConfig, x: Node): Node {
  return level.hasModule('attn') && level.sub('attn').hasModule(j) ? attnBlock(level.sub('attn').sub(j), cfg, x) : x;
}

/** LDM Decoder on the unscaled latent z [B, latent, h, w] (after post_quant_conv) -> image [B, 3, h*f, w*f]. */
export function vaeDecoder(w: Weights, cfg: VaeConfig, latent: Node): Node {
  op.expectShape('VAE decoder input', latent, [-1, cfg.latentChannels, -1, -1]);
  const z = w.hasModule('post_quant_conv') ? pointwise(w.sub('post_quant_conv'), latent) : latent; // [B, z, h, w]
  const dec = w.sub('decoder');
  let h = mid(dec.sub('mid'), cfg, conv2d(dec.sub('conv_in'), z)); // [B, C_last, h, w]
  for (let i = cfg.levels - 1; i >= 0; i--) {
    const level = dec.sub('up').sub(i);
    for (let j = 0; j <= cfg.resBlocks; j++) {
      h = levelAttention(level, j, cfg, resnetBlock(level.sub('block').sub(j), cfg, h));
    }
    if (i !== 0) h = conv2d(level.sub('upsample').sub('conv'), upsampleNearest2x(h)); // [B, C_i, 2H, 2W]
  }
  h = silu(groupNorm(dec.sub('norm_out'), h, cfg.groups, cfg.eps));
  return conv2d(dec.sub('conv_out'), h); // [B, 3, H, W]
}

/** LDM Encoder + quant_conv on an image [B, 3, H, W] in [-1, 1] -> posterior mean [B, latent, H/f, W/f] (unscaled). */
export function vaeEncoderMean(w: Weights, cfg: VaeConfig, image: Node): Node {
  const enc = w.sub('encoder');
  let h = conv2d(enc.sub('conv_in'), image); // [B, C_0, H, W]
  for (let i = 0; i < cfg.levels; i++) {
    const level = enc.sub('down').sub(i);
    for (let j = 0; j < cfg.resBlocks; j++) {
      h = levelAttention(level, j, cfg, resnetBlock(level.sub('block').sub(j), cfg, h));
    }
    // LDM's Downsample pads right and bottom by one, then a 3x3 stride-2 convolution without padding.
    if (i !== cfg.levels - 1) h = conv2d(level.sub('downsample').sub('conv'), h, { stride: 2, padding: [0, 0, 1, 1] }); // [B, C_i, H/2, W/2]
  }
  h = mid(enc.sub('mid'), cfg, h);
  h = conv2d(enc.sub('conv_out'), silu(groupNorm(enc.sub('norm_out'), h, cfg.groups, cfg.eps))); // [B, 2z, h, w]
  const moments = w.hasModule('quant_conv') ? pointwise(w.sub('quant_conv'), h) : h; // [B, 2*latent, h, w]
  return op.slice(moments, 1, 0, cfg.latentChannels); // mean; the log-variance half is unused at inference
}

export interface VaeBuildOptions extends GraphOptions {
  batch: number;
  /** Latent size for the decoder, image size for the encoder. */
  height: number;
  width: number;
  compute?: DataType;
  /** Latent scaling factor; SD1.5 (and every SD1.5 fine-tune) uses 0.18215. */
  scalingFactor?: number;
}

/** Decoder graph: input `latent` [B, latent, h, w] float32 (scaled, as samplers produce it) -> output `image` [B, 3, h*f, w*f] float32. */
export function buildVaeDecoderGraph(file: TensorFile, opts: VaeBuildOptions): { graph: Graph; outputs: { image: Node }; cfg: VaeConfig } {
  const cfg = detectVae(file);
  const g = new Graph(graphOptionsOf(opts));
  const latent = g.input('latent', 'float32', [opts.batch, cfg.latentChannels, opts.height, opts.width]);
  const compute = opts.compute ?? 'float32';
  const w = new Weights(g, file, cfg.prefix, compute);
  const unscaled = op.div(latent, op.scalar(g, opts.scalingFactor ?? SD15_VAE_SCALE)); // [B, latent, h, w] in float32
  const image = vaeDecoder(w, cfg, op.cast(unscaled, compute));
  return { graph: g, outputs: { image: op.cast(image, 'float32') }, cfg };
}

/** Encoder graph: input `image` [B, 3, H, W] float32 in [-1, 1] -> output `latent` [B, latent, H/f, W/f] = mean x scaling factor. */
export function buildVaeEncoderGraph(file: TensorFile, opts: VaeBuildOptions): { graph: Graph; outputs: { latent: Node }; cfg: VaeConfig } {
  const cfg = detectVae(file);
  if (!cfg.hasEncoder) throw new GraphError(`${file.path}: this VAE has no encoder (encoder.* tensors are missing)`);
  if (opts.height % cfg.downFactor !== 0 || opts.width % cfg.downFactor !== 0) {
    throw new GraphError(`VAE encoder: image ${opts.width}x${opts.height} is not a multiple of ${cfg.downFactor} pixels`);
  }
  const g = new Graph(graphOptionsOf(opts));
  const image = g.input('image', 'float32', [opts.batch, 3, opts.height, opts.width]);
  const compute = opts.compute ?? 'float32';
  const w = new Weights(g, file, cfg.prefix, compute);
  const mean = op.cast(vaeEncoderMean(w, cfg, op.cast(image, compute)), 'float32');
  return { graph: g, outputs: { latent: op.mul(mean, op.scalar(g, opts.scalingFactor ?? SD15_VAE_SCALE)) }, cfg };
}
