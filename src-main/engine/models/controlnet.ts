// ControlNet (Zhang et al. 2023): a trainable copy of the UNet encoder whose 12 block outputs and middle output
// pass zero convolutions and become residuals for the frozen UNet. The hint encoder (`input_hint_block`) maps
// the 8x-resolution control image onto the latent grid and is added after the copy's first block.
// Layouts: original (no prefix, or `control_model.`) and diffusers (translated by key-layouts.ts).
// CtrLoRA's Base ControlNet is this network without a hint encoder, fed the condition's VAE latent instead.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node, graphOptionsOf, type GraphOptions } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { diffusersControlNetToLdm, withoutPrefix } from './key-layouts.ts';
import { conv2d, silu } from './layers.ts';
import type { LoraSet } from './lora.ts';
import { runLayers, timeEmbed } from './unet.ts';
import { blockCount, readBlock, type UnetBlock, type UnetLayer } from './unet-config.ts';
import { Weights } from './weights.ts';
import { castContext, declareTextContext, type TextContext } from './regional-attention.ts';

export interface ControlNetConfig {
  layout: 'original' | 'diffusers';
  prefix: string;
  modelChannels: number;
  inChannels: number;
  hintChannels: number; // 0 when there is no hint encoder (CtrLoRA base)
  /** Indices of the hint encoder's convolutions, in order, with their strides. */
  hintConvs: { index: number; stride: number }[];
  inputBlocks: UnetBlock[];
  middle: UnetLayer[];
  heads: number;
}

/** Opens a ControlNet file in any supported layout as an original-layout view without prefix. */
export function controlNetView(file: TensorFile): { view: TensorFile; layout: ControlNetConfig['layout']; prefix: string } {
  if (file.tensors.has('controlnet_cond_embedding.conv_in.weight') || file.tensors.has('controlnet_mid_block.weight')) {
    return { view: diffusersControlNetToLdm(file), layout: 'diffusers', prefix: '' };
  }
  for (const prefix of ['', 'control_model.']) {
    if (file.tensors.has(`${prefix}input_blocks.0.0.weight`) && file.tensors.has(`${prefix}middle_block_out.0.weight`)) {
      return { view: withoutPrefix(file, prefix), layout: 'original', prefix };
    }
  }
  throw new GraphError(`${file.path}: not a ControlNet (no input_blocks/zero_convs/middle_block_out or diffusers controlnet_* keys)`);
}

export function detectControlNet(view: TensorFile, layout: ControlNetConfig['layout'], prefix: string): ControlNetConfig {
  const convIn = view.tensors.get('input_blocks.0.0.weight')!;
  const hintIdx: number[] = [];
  for (const k of view.tensors.keys()) {
    const m = k.match(/^input_hint_block\.(\d+)\.weight$/);
    if (m) hintIdx.push(Number(m[1]));
  }
  hintIdx.sort((a, b) => a - b);
  const hintConvs = hintConvsOf(view, hintIdx, '');
  const count = blockCount(view, '', 'input_blocks');
  const inputBlocks = Array.from({ length: count }, (_, i) => (i === 0 ? { path: 'input_blocks.0', layers: [] } : readBlock(view, '', `input_blocks.${i}`)));
  const middle = readBlock(view, '', 'middle_block').layers;
  for (let i = 0; i < count; i++) {
    if (!view.tensors.has(`zero_convs.${i}.0.weight`)) throw new GraphError(`${view.path}: ControlNet zero convolution ${i} missing`);
  }
  return {
    layout,
    prefix,
    modelChannels: convIn.shape[0],
    inChannels: convIn.shape[1],
    hintChannels: hintIdx.length ? view.tensors.get(`input_hint_block.${hintIdx[0]}.weight`)!.shape[1] : 0,
    hintConvs,
    inputBlocks,
    middle,
    heads: 8,
  };
}

/**
 * The hint encoder halves the resolution in each conv that widens the channels, except the first (image ->
 * features) and the last (zero conv into the UNet width): 3 times for 8x latents in released models.
 * Also ControlNet-XS's hint encoder (same layout, its last conv maps to the control stream's width).
 */
export function hintConvsOf(file: TensorFile, indices: readonly number[], prefix: string): ControlNetConfig['hintConvs'] {
  return indices.map((index, i) => {
    const [cout, cin] = file.tensors.get(`${prefix}input_hint_block.${index}.weight`)!.shape;
    const stride = i > 0 && i < indices.length - 1 && cout !== cin ? 2 : 1;
    return { index, stride };
  });
}

export interface ControlNetInputs {
  sample: Node; // [B, 4, h, w] noisy latent (or CtrLoRA: the same, with the condition latent as `guide`)
  timestep: Node; // [B]
  context: TextContext; // [B, T, D], or with regions (regional-attention.ts)
  /** Control image [B, 3, 8h, 8w] in [0, 1] for the hint encoder, or an already-encoded guide [B, C, h, w]. */
  hint: Node;
  strength: Node; // [1] scalar multiplier of every residual
}

/** Hint encoder: convs with SiLU between, the last one without. `w` is the level holding `input_hint_block`. */
export function hintEncoder(w: Weights, cfg: Pick<ControlNetConfig, 'hintConvs'>, hint: Node): Node {
  let h = op.cast(hint, w.compute);
  cfg.hintConvs.forEach(({ index, stride }, i) => {
    h = conv2d(w.sub('input_hint_block').sub(index), h, { stride, padding: 1 });
    if (i < cfg.hintConvs.length - 1) h = silu(h);
  });
  return h;
}

/** Returns the 13 residuals (12 skips + middle), each scaled by `strength`, in float32. */
export function controlNet(w: Weights, cfg: ControlNetConfig, inputs: ControlNetInputs, guide: Node | null = null): Node[] {
  const emb = timeEmbed(w, inputs.timestep, cfg.modelChannels);
  const context = castContext(inputs.context, w.compute);
  const guided = guide ?? hintEncoder(w, cfg, inputs.hint);
  let h = op.add(conv2d(w.sub('input_blocks').sub(0).sub(0), op.cast(inputs.sample, w.compute)), guided);
  const strength = op.cast(inputs.strength, w.compute);
  const zero = (i: number, x: Node) => op.mul(conv2d(w.sub('zero_convs').sub(i).sub(0), x, { padding: 0 }), strength);
  const outs: Node[] = [zero(0, h)];
  cfg.inputBlocks.slice(1).forEach((block, i) => {
    h = runLayers(w, block.layers, h, emb, context, cfg.heads);
    outs.push(zero(i + 1, h));
  });
  h = runLayers(w, cfg.middle, h, emb, context, cfg.heads);
  outs.push(op.mul(conv2d(w.sub('middle_block_out').sub(0), h, { padding: 0 }), strength));
  return outs.map((o) => op.cast(o, 'float32'));
}

export interface ControlNetGraphOptions extends GraphOptions {
  batch: number;
  height: number; // latent size
  width: number;
  tokens: number;
  contextDim: number;
  compute?: DataType;
  /** Token count of each region's context (regional-attention.ts); absent: no regions. */
  regionTokens?: readonly number[];
  /** Per region: the negative rows read its branch too (a region with LoRAs; regional-attention.ts). */
  regionNegativeReads?: readonly boolean[];
  loras?: (g: Graph, view: TensorFile) => LoraSet | null;
}

export function buildControlNetGraph(file: TensorFile, opts: ControlNetGraphOptions): { graph: Graph; residuals: Node[]; cfg: ControlNetConfig } {
  const { view, layout, prefix } = controlNetView(file);
  const cfg = detectControlNet(view, layout, prefix);
  if (cfg.hintChannels === 0) throw new GraphError(`${file.path}: this ControlNet has no hint encoder (a CtrLoRA base model?)`);
  const g = new Graph(graphOptionsOf(opts));
  const inputs: ControlNetInputs = {
    sample: g.input('sample', 'float32', [opts.batch, cfg.inChannels, opts.height, opts.width]),
    timestep: g.input('timestep', 'float32', [opts.batch]),
    context: declareTextContext(g, opts.batch, opts.tokens, opts.contextDim, opts.regionTokens, opts.regionNegativeReads),
    hint: g.input('hint', 'float32', [opts.batch, cfg.hintChannels, opts.height * 8, opts.width * 8]),
    strength: g.input('strength', 'float32', [1]),
  };
  const w = new Weights(g, view, '', opts.compute ?? 'float32', opts.loras ? opts.loras(g, view) : null);
  return { graph: g, residuals: controlNet(w, cfg, inputs), cfg };
}
