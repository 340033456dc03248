// ControlNet-XS (Zavadski et al. 2023), the "encoder_double" two-stream model of vislearn/ControlNet-XS
// (TwoStreamControlNet in twoStreamControl.py; CtrLoRA's cldm_xs.py is the same code). It cannot run beside the
// UNet like a ControlNet: the control encoder and the UNet encoder exchange features after every block, so both
// streams are built into one graph here.
//
// Wiring (x = noisy latent, emb = the base UNet's time embedding, every zero conv a 1x1 conv):
//   h_base = h_ctr = x
//   for each of the 12 input blocks i:
//     h_base = base_block_i(h_base);  h_ctr = ctr_block_i(h_ctr)  (+ hint encoder output after block 0)
//     h_base += enc_zero_convs_out[i](h_ctr) * w         (control -> base by addition)
//     skip_base[i] = h_base;  skip_ctr[i] = h_ctr
//     h_ctr = cat([h_ctr, enc_zero_convs_in[i](h_base)])   (base -> control by concatenation, control first)
//   h_base = base_mid(h_base);  h_ctr = ctr_mid(h_ctr);  h_base += middle_block_out(h_ctr) * w
//   for each of the 12 output blocks j:  h_base += dec_zero_convs_out[j](skip_ctr.pop()) * w, then the UNet's
//     usual cat([h_base, skip_base.pop()]) and output block j.
//   eps = base.out(h_base)
// w is the user's weight times the checkpoint's `scale_list` entry (25 ones in released files) for that infusion.
// Tied to a region (pipeline/region-controls.ts), every control -> base infusion is also multiplied by the region's
// feathered mask area-averaged to its size (input `cnxs_region_mask_<h>x<w>` [1, 1, h, w], declared as infusions
// need it), as a ControlNet's residuals are; base -> control stays unmasked (it only feeds the control stream).
// The control stream's ResBlock GroupNorms use the largest divisor of the width <= 32 as group count; its
// SpatialTransformers keep 32 groups and 8 heads of max(8, width / 8) channels (so inner width may exceed the
// block's). Everything else (widths, block layout, concatenated widths) is read from the weights.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node, graphOptionsOf, type GraphOptions } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { hintConvsOf, hintEncoder } from './controlnet.ts';
import { conv2d, groupNorm, silu } from './layers.ts';
import { CONTROL_INPUT_NAMES, controlShapes, runLayers, timeEmbed, type GroupsFor } from './unet.ts';
import { blockCount, detectUnet, readBlock, type UnetBlock, type UnetConfig, type UnetLayer } from './unet-config.ts';
import { type LayerAdapter, Weights } from './weights.ts';
import { castContext, declareTextContext, type TextContext } from './regional-attention.ts';

export interface CnxsConfig {
  /** Prefix of the TwoStreamControlNet's own keys ('control_model.' as the LDM wrapper saves it). */
  prefix: string;
  /** Width of the control stream's first block (the base's model_channels x control_model_ratio). */
  controlChannels: number;
  hintChannels: number;
  hintConvs: { index: number; stride: number }[];
  /** The control stream's encoder (block 0 is the conv_in) and middle block, under `<prefix>control_model.`. */
  inputBlocks: UnetBlock[];
  middle: UnetLayer[];
  /** How base features enter the control stream: concatenated (the released models) or added. */
  infusion2control: 'cat' | 'add';
  /** True when the control stream has its own time embedding (learn_embedding); it then replaces the base's. */
  ownTimeEmbed: boolean;
  /** Per-infusion scales: 12 encoder, 1 middle, 12 decoder (`scale_list`). */
  scales: number[];
  heads: number;
}

/** find_denominator(c, 32) of the reference code: the largest divisor of c that is at most 32. */
export const groupsLeq32: GroupsFor = (channels) => {
  if (channels <= 32) return channels;
  for (let g = 32; g > 1; g--) if (channels % g === 0) return g;
  return 1;
};

export function detectCnxs(file: TensorFile): CnxsConfig {
  const prefix = ['control_model.', ''].find((p) => file.tensors.has(`${p}enc_zero_convs_in.0.0.weight`) && file.tensors.has(`${p}middle_block_out.0.weight`));
  if (prefix === undefined) throw new GraphError(`${file.path}: not a ControlNet-XS (no enc_zero_convs_in / middle_block_out under control_model.)`);
  const ctr = `${prefix}control_model.`;
  if (file.tensors.has(`${prefix}middle_block_in.0.weight`) || blockCount(file, ctr, 'output_blocks') > 0) {
    throw new GraphError(`${file.path}: ControlNet-XS with a control decoder ('full' guiding) is not supported; only encoder models are`);
  }
  const convIn = file.tensors.get(`${ctr}input_blocks.0.0.weight`);
  if (!convIn) throw new GraphError(`${file.path}: ControlNet-XS control stream (${ctr}input_blocks.0.0) missing`);
  const blocks = blockCount(file, ctr, 'input_blocks');
  const inputBlocks = Array.from({ length: blocks }, (_, i) => (i === 0 ? { path: 'input_blocks.0', layers: [] } : readBlock(file, ctr, `input_blocks.${i}`)));
  const middle = readBlock(file, ctr, 'middle_block').layers;
  if (middle.length === 0) throw new GraphError(`${file.path}: ControlNet-XS control stream has no middle block`);
  for (const name of ['enc_zero_convs_in', 'enc_zero_convs_out', 'dec_zero_convs_out']) {
    const n = blockCount(file, prefix, name);
    if (n !== blocks) throw new GraphError(`${file.path}: ControlNet-XS has ${n} ${name} for ${blocks} encoder blocks`);
  }
  // Block 1's input is the control width alone (add) or the control width plus the base->control conv's (cat).
  const first = inputBlocks[1]?.layers[0];
  const firstIn = first?.kind === 'res' ? file.tensors.get(`${ctr}${first.path}.in_layers.0.weight`)!.shape[0] : NaN;
  const infused = file.tensors.get(`${prefix}enc_zero_convs_in.0.0.weight`)!.shape[0];
  const infusion2control = firstIn === convIn.shape[0] + infused ? 'cat' : firstIn === convIn.shape[0] ? 'add' : null;
  if (!infusion2control) throw new GraphError(`${file.path}: ControlNet-XS block 1 takes ${firstIn} channels; cannot tell how base features enter the control stream`);
  const hintIdx: number[] = [];
  for (const k of file.tensors.keys()) {
    const m = k.startsWith(prefix) ? k.slice(prefix.length).match(/^input_hint_block\.(\d+)\.weight$/) : null;
    if (m) hintIdx.push(Number(m[1]));
  }
  hintIdx.sort((a, b) => a - b);
  if (hintIdx.length === 0) throw new GraphError(`${file.path}: ControlNet-XS hint encoder (input_hint_block) missing`);
  const scaleKey = `${prefix}scale_list`;
  const expected = 2 * blocks + 1;
  const scales = file.tensors.has(scaleKey) ? Array.from(file.readFloat32(scaleKey)) : new Array<number>(expected).fill(1);
  if (scales.length !== expected) throw new GraphError(`${file.path}: ControlNet-XS scale_list has ${scales.length} entries, expected ${expected}`);
  return {
    prefix,
    controlChannels: convIn.shape[0],
    hintChannels: file.tensors.get(`${prefix}input_hint_block.${hintIdx[0]}.weight`)!.shape[1],
    hintConvs: hintConvsOf(file, hintIdx, prefix),
    inputBlocks,
    middle,
    infusion2control,
    ownTimeEmbed: file.tensors.has(`${ctr}time_embed.0.weight`),
    scales,
    heads: 8,
  };
}

export interface CnxsInputs {
  sample: Node; // [B, 4, h, w]
  timestep: Node; // [B]
  context: TextContext; // [B, T, D], or with regions (regional-attention.ts)
  hint: Node; // [B, 3, 8h, 8w] in [0, 1]
  weight: Node; // [1] scales every control -> base infusion
  /** Summed residuals of other control units (ControlNets, CtrLoRA), added as the plain UNet adds them. */
  control?: Node[] | null;
  /** The region mask [1, 1, h, w] the infusions at h x w are multiplied by; absent: the whole picture. */
  regionMask?: ((h: number, w: number) => Node) | null;
}

/** Name of the region mask input for the infusions at h x w (a ControlNet-XS tied to a region). */
export const cnxsRegionMaskName = (h: number, w: number) => `cnxs_region_mask_${h}x${w}`;
export const CNXS_REGION_MASK_PREFIX = 'cnxs_region_mask_';

/** The UNet steered by ControlNet-XS: `base` at the UNet's key prefix, `xs` at the TwoStreamControlNet's. */
export function cnxsUnet(base: Weights, baseCfg: UnetConfig, xs: Weights, cfg: CnxsConfig, inputs: CnxsInputs): Node {
  const ctr = xs.sub('control_model');
  if (baseCfg.inputBlocks.length !== cfg.inputBlocks.length || baseCfg.outputBlocks.length !== cfg.inputBlocks.length) {
    throw new GraphError(`ControlNet-XS has ${cfg.inputBlocks.length} encoder blocks, the UNet ${baseCfg.inputBlocks.length} in and ${baseCfg.outputBlocks.length} out`);
  }
  const emb = timeEmbed(cfg.ownTimeEmbed ? ctr : base, inputs.timestep, baseCfg.modelChannels);
  const context = castContext(inputs.context, base.compute);
  const weight = op.cast(inputs.weight, base.compute);
  let k = 0;
  const toBase = (zero: Weights, h: Node) => {
    const s = cfg.scales[k++];
    const scale = s === 1 ? weight : op.mul(weight, op.scalar(weight.graph, s, weight.dtype));
    const infused = op.mul(conv2d(zero.sub(0), h, { padding: 0 }), scale); // [B, C, h, w]
    return inputs.regionMask ? op.mul(infused, op.cast(inputs.regionMask(h.shape[2], h.shape[3]), base.compute)) : infused;
  };
  const x = op.cast(inputs.sample, base.compute);
  let hBase = x;
  let hCtr = x;
  const skipsBase: Node[] = [];
  const skipsCtr: Node[] = [];
  cfg.inputBlocks.forEach((block, i) => {
    if (i === 0) {
      hBase = conv2d(base.sub('input_blocks').sub(0).sub(0), hBase); // [B, C, h, w]
      hCtr = op.add(conv2d(ctr.sub('input_blocks').sub(0).sub(0), hCtr), hintEncoder(xs, cfg, inputs.hint)); // [B, Cc, h, w]
    } else {
      hBase = runLayers(base, baseCfg.inputBlocks[i].layers, hBase, emb, context, baseCfg.heads);
      hCtr = runLayers(ctr, block.layers, hCtr, emb, context, cfg.heads, groupsLeq32);
    }
    hBase = op.add(hBase, toBase(xs.sub('enc_zero_convs_out').sub(i), hCtr));
    skipsBase.push(hBase);
    skipsCtr.push(hCtr);
    const infusion = conv2d(xs.sub('enc_zero_convs_in').sub(i).sub(0), hBase, { padding: 0 });
    hCtr = cfg.infusion2control === 'cat' ? op.concat([hCtr, infusion], 1) : op.add(hCtr, infusion); // [B, Cc (+ C), h, w]
  });
  hBase = runLayers(base, baseCfg.middle, hBase, emb, context, baseCfg.heads);
  hCtr = runLayers(ctr, cfg.middle, hCtr, emb, context, cfg.heads, groupsLeq32);
  hBase = op.add(hBase, toBase(xs.sub('middle_block_out'), hCtr));
  const control = inputs.control?.map((c) => op.cast(c, base.compute)) ?? null;
  if (control) hBase = op.add(hBase, control[skipsBase.length]);
  baseCfg.outputBlocks.forEach((block, j) => {
    hBase = op.add(hBase, toBase(xs.sub('dec_zero_convs_out').sub(j), skipsCtr.pop()!));
    let skip = skipsBase.pop()!;
    if (control) skip = op.add(skip, control[skipsBase.length]);
    const next = skipsBase[skipsBase.length - 1];
    hBase = runLayers(base, block.layers, op.concat([hBase, skip], 1), emb, context, baseCfg.heads, undefined, next ? next.shape.slice(2) : null);
  });
  const out = conv2d(base.sub('out').sub(2), silu(groupNorm(base.sub('out').sub(0), hBase, 32, 1e-5)));
  return op.cast(out, 'float32');
}

export interface CnxsGraphOptions extends GraphOptions {
  batch: number;
  height: number; // latent size
  width: number;
  tokens: number;
  compute?: DataType;
  /** Token count of each region's context (regional-attention.ts); absent: no regions. */
  regionTokens?: readonly number[];
  /** Per region: the negative rows read its branch too (a region with LoRAs; regional-attention.ts). */
  regionNegativeReads?: readonly boolean[];
  /** Adds the 13 control residual inputs (control_0..control_11, control_mid) for other control units. */
  withControl?: boolean;
  /** Tied to a region: adds a `cnxs_region_mask_<h>x<w>` input per infusion size. */
  regionMasked?: boolean;
  loras?: (g: Graph, cfg: UnetConfig) => LayerAdapter | null;
}

/**
 * The fused UNet + ControlNet-XS graph: inputs `sample` [B, 4, h, w], `timestep` [B], `context` [B, T, D],
 * `hint` [B, 3, 8h, 8w] in [0, 1], `weight` [1] (and with `regionMasked`, `cnxs_region_mask_<h>x<w>` [1, 1, h, w]
 * per infusion size); output `eps`. Base weights come from `checkpoint`, control
 * weights from `cnxs` (files in different folders are fine: the emitter embeds the smaller file's weights).
 */
export function buildCnxsUnetGraph(checkpoint: TensorFile, cnxs: TensorFile, opts: CnxsGraphOptions): { graph: Graph; eps: Node; cfg: CnxsConfig; unet: UnetConfig } {
  const unet = detectUnet(checkpoint);
  const cfg = detectCnxs(cnxs);
  if (unet.contextDim === 0) throw new GraphError(`${checkpoint.path}: UNet has no cross-attention`);
  const g = new Graph(graphOptionsOf(opts));
  const inputs: CnxsInputs = {
    sample: g.input('sample', 'float32', [opts.batch, unet.inChannels, opts.height, opts.width]),
    timestep: g.input('timestep', 'float32', [opts.batch]),
    context: declareTextContext(g, opts.batch, opts.tokens, unet.contextDim, opts.regionTokens, opts.regionNegativeReads),
    hint: g.input('hint', 'float32', [opts.batch, cfg.hintChannels, opts.height * 8, opts.width * 8]),
    weight: g.input('weight', 'float32', [1]),
  };
  if (opts.withControl) {
    const shapes = controlShapes(unet, opts.batch, opts.height, opts.width);
    inputs.control = CONTROL_INPUT_NAMES(shapes.length).map((name, i) => g.input(name, 'float32', shapes[i]));
  }
  if (opts.regionMasked) {
    const masks = new Map<string, Node>();
    inputs.regionMask = (h, w) => {
      const name = cnxsRegionMaskName(h, w);
      let input = masks.get(name);
      if (!input) {
        input = g.input(name, 'float32', [1, 1, h, w]);
        masks.set(name, input);
      }
      return input;
    };
  }
  const compute = opts.compute ?? 'float32';
  const base = new Weights(g, checkpoint, unet.prefix, compute, opts.loras ? opts.loras(g, unet) : null);
  const xs = new Weights(g, cnxs, cfg.prefix, compute);
  return { graph: g, eps: cnxsUnet(base, unet, xs, cfg, inputs), cfg, unet };
}
