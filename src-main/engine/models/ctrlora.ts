// CtrLoRA (Xu et al. 2024): one Base ControlNet shared by every condition, specialised per condition by a small
// file holding a LoRA on every linear layer plus that condition's own zero convolutions and norm layers.
//
// Wiring, as the authors' inference code (cldm_ctrlora_inference.py) runs it and the ctrlora.* goldens confirm:
// - The Base ControlNet has no hint encoder and never sees the noisy latent: the condition image's VAE latent
//   (RGB in [0, 1] fed straight to the SD encoder, posterior mean x 0.18215) is its only image input and enters
//   input_blocks.0. Time embedding and text context are those of the current step.
// - Every base key containing `lora_layer`, `zero_convs`, `middle_block_out` or `norm` is ignored and taken from
//   the condition file (the base carries its pretraining task's copies). ResBlock GroupNorms are named
//   `in_layers.0`/`out_layers.0` and so stay the base's.
// - The condition's `<path>.lora_layer.down/up.weight` pairs add up(down(x)) to the layer at <path>, with no
//   alpha scaling (diffusers' LoRALinearLayer without network_alpha). Only nn.Linear layers carry them in the
//   releases; a pair on a convolution would be applied as a conv LoRA by the same LoraSet.
// - The 13 outputs are multiplied by the control strength and the condition's weight; several conditions are
//   one base pass each, summed, and the UNet adds the sum as ControlNet residuals.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node, graphOptionsOf } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { detectControlNet, type ControlNetConfig, type ControlNetGraphOptions } from './controlnet.ts';
import { overlayView, withoutPrefix } from './key-layouts.ts';
import { conv2d } from './layers.ts';
import { LoraSet, type LoraModule } from './lora.ts';
import { CONTROL_INPUT_NAMES, runLayers, timeEmbed } from './unet.ts';
import { Weights } from './weights.ts';
import { castContext, declareTextContext, type TextContext } from './regional-attention.ts';

const PREFIXES = ['control_model.', ''];
const LORA_DOWN = '.lora_layer.down.weight';
const LORA_UP = '.lora_layer.up.weight';

/** Base keys a condition file replaces (CtrLoRA's own rule, by substring of the module path). */
export function replacedByCondition(key: string): boolean {
  return key.includes('lora_layer') || key.includes('zero_convs') || key.includes('middle_block_out') || key.includes('norm');
}

export interface CtrLoraCondition {
  prefix: string;
  /** LoRA rank (128 in the releases). */
  rank: number;
  /** Layer path (without prefix) -> its LoRA pair, keys as stored in the file. */
  modules: Map<string, LoraModule>;
  /** How many LoRA pairs sit on convolutions (4-D factors); none in the releases. */
  convModules: number;
  /** Zero convolutions carried (12 + middle_block_out in SD1.5). */
  zeroConvs: number;
  /** Norm tensors carried (weight and bias of every transformer norm). */
  normTensors: number;
}

/** Reads a condition LoRA file; throws a GraphError naming the file when it is not one. */
export function detectCtrLoraCondition(file: TensorFile): CtrLoraCondition {
  const prefix = PREFIXES.find((p) => [...file.tensors.keys()].some((k) => k.startsWith(p) && k.endsWith(LORA_DOWN)));
  if (prefix === undefined) throw new GraphError(`${file.path}: not a CtrLoRA condition file (no '*.lora_layer.down.weight' tensors)`);
  // A Base ControlNet also carries lora_layer tensors (its pretraining task's), but a condition has no base weights.
  if (file.tensors.has(`${prefix}input_blocks.0.0.weight`)) throw new GraphError(`${file.path}: is a CtrLoRA Base ControlNet, not a condition LoRA`);
  const modules = new Map<string, LoraModule>();
  let rank = 0;
  let convModules = 0;
  let zeroConvs = 0;
  let normTensors = 0;
  for (const [key, entry] of file.tensors) {
    if (!key.startsWith(prefix)) continue;
    const local = key.slice(prefix.length);
    if (/^(zero_convs\.\d+\.0|middle_block_out\.0)\.weight$/.test(local)) zeroConvs++;
    if (local.includes('norm') && !local.includes('lora_layer')) normTensors++;
    if (!local.endsWith(LORA_DOWN)) continue;
    const path = local.slice(0, -LORA_DOWN.length);
    const up = file.tensors.get(prefix + path + LORA_UP);
    if (!up) throw new GraphError(`${file.path}: LoRA tensor '${key}' has no matching '${prefix}${path}${LORA_UP}'`);
    const r = entry.shape[0];
    if (up.shape[1] !== r) throw new GraphError(`${file.path}: LoRA pair at '${path}' has down rank ${r} but up [${up.shape}]`);
    if (rank !== 0 && r !== rank) throw new GraphError(`${file.path}: LoRA ranks differ (${rank} and ${r} at '${path}')`);
    rank = r;
    if (entry.shape.length === 4) convModules++;
    modules.set(path, { down: key, up: prefix + path + LORA_UP, alpha: null, rank: r });
  }
  if (zeroConvs === 0) throw new GraphError(`${file.path}: CtrLoRA condition carries no zero convolutions (zero_convs.N.0, middle_block_out.0)`);
  return { prefix, rank, modules, convModules, zeroConvs, normTensors };
}

function basePrefix(base: TensorFile): string {
  const prefix = PREFIXES.find((p) => base.tensors.has(`${p}input_blocks.0.0.weight`) && base.tensors.has(`${p}time_embed.0.weight`));
  if (prefix === undefined) throw new GraphError(`${base.path}: not a CtrLoRA Base ControlNet (no control_model.input_blocks.0.0.weight)`);
  if (base.tensors.has(`${prefix}input_hint_block.0.weight`)) {
    throw new GraphError(`${base.path}: has a hint encoder (input_hint_block): a ControlNet, not a CtrLoRA Base ControlNet`);
  }
  return prefix;
}

/**
 * The base seen through one condition: prefix-free original-layout keys, with every replaced key pointing into
 * the condition file. Closing the view would close both files: callers close the files they opened instead.
 */
export function ctrLoraView(base: TensorFile, condition: TensorFile, cond = detectCtrLoraCondition(condition)): TensorFile {
  const b = withoutPrefix(base, basePrefix(base));
  const c = withoutPrefix(condition, cond.prefix);
  for (const key of b.tensors.keys()) {
    if (replacedByCondition(key) && !key.includes('lora_layer') && !c.tensors.has(key)) {
      throw new GraphError(`${condition.path}: CtrLoRA condition lacks '${cond.prefix}${key}', which replaces the base's copy`);
    }
  }
  return overlayView(b, c, replacedByCondition);
}

export interface CtrLoraInputs {
  timestep: Node; // [B]
  context: TextContext; // [B, T, D], or with regions (regional-attention.ts)
  latent: Node; // [B, 4, h, w] condition latent (VAE mean x 0.18215 of the [0, 1] condition image)
  /** Multiplies every output: strength x condition weight, shape [1]. */
  scale: Node;
}

/** The Base ControlNet forward on the condition latent: 12 zero-conv outputs + middle_block_out, scaled, float32. */
export function ctrLoraControl(w: Weights, cfg: ControlNetConfig, inputs: CtrLoraInputs): Node[] {
  const emb = timeEmbed(w, inputs.timestep, cfg.modelChannels);
  const context = castContext(inputs.context, w.compute);
  const scale = op.cast(inputs.scale, w.compute);
  const zero = (x: Node, module: Weights) => op.mul(conv2d(module, x, { padding: 0 }), scale);
  let h = conv2d(w.sub('input_blocks').sub(0).sub(0), op.cast(inputs.latent, w.compute)); // [B, C, h, w]
  const outs: Node[] = [zero(h, w.sub('zero_convs').sub(0).sub(0))];
  cfg.inputBlocks.slice(1).forEach((block, i) => {
    h = runLayers(w, block.layers, h, emb, context, cfg.heads);
    outs.push(zero(h, w.sub('zero_convs').sub(i + 1).sub(0)));
  });
  h = runLayers(w, cfg.middle, h, emb, context, cfg.heads);
  outs.push(zero(h, w.sub('middle_block_out').sub(0)));
  return outs.map((o) => op.cast(o, 'float32'));
}

/** Weights of the base under one condition, with that condition's LoRA (scale 1) registered on its layers. */
export function ctrLoraWeights(g: Graph, base: TensorFile, condition: TensorFile, compute: DataType): { w: Weights; cfg: ControlNetConfig; cond: CtrLoraCondition; lora: LoraSet } {
  const cond = detectCtrLoraCondition(condition);
  const view = ctrLoraView(base, condition, cond);
  const cfg = detectControlNet(view, 'original', cond.prefix);
  // alpha null means alpha = rank in LoraSet, so the pair is added as up(down(x)) x strength, strength fixed at 1.
  const one = op.constantOf(g, 'float32', [1], [1]);
  const lora = new LoraSet(g, compute, [{ file: condition, modules: cond.modules, strength: one }], (path) => (cond.modules.has(path) ? path : null));
  return { w: new Weights(g, view, '', compute, lora), cfg, cond, lora };
}

function checkAllUsed(condition: TensorFile, cond: CtrLoraCondition, lora: LoraSet): void {
  const unused = [...cond.modules.keys()].filter((path) => !lora.used.has(`${condition.path}:${path}`));
  if (unused.length) throw new GraphError(`${condition.path}: ${unused.length} LoRA layer(s) match no layer of the base, e.g. '${unused[0]}' (wrong base model?)`);
}

/** A ControlNet graph's options less `loras`: the LoRA on the base is the condition's own. */
export type CtrLoraGraphOptions = Omit<ControlNetGraphOptions, 'loras'>;

export interface CtrLoraGraph {
  graph: Graph;
  /** control_0..control_11, control_mid (unet.ts CONTROL_INPUT_NAMES), already x strength x weight. */
  outputs: Record<string, Node>;
  cfg: ControlNetConfig;
  condition: CtrLoraCondition;
}

/**
 * One condition: inputs `timestep` [B], `context` [B, T, D], `latent` [B, 4, h, w], `strength` [1], `weight` [1];
 * outputs the 13 residuals x strength x weight. There is no `sample` input: the base never reads the noisy latent.
 */
export function buildCtrLoraGraph(base: TensorFile, condition: TensorFile, opts: CtrLoraGraphOptions): CtrLoraGraph {
  return buildCtrLoraMixGraph(base, [condition], { ...opts, names: 'single' });
}

/**
 * Several conditions in one graph (the base's weights are shared): inputs `timestep`, `context`, `strength` [1]
 * and per condition i `latent_i`, `weight_i` [1]; outputs the 13 sums over conditions of residual x strength x weight.
 */
export function buildCtrLoraMixGraph(base: TensorFile, conditions: readonly TensorFile[], opts: CtrLoraGraphOptions & { names?: 'single' | 'indexed' }): CtrLoraGraph {
  if (conditions.length === 0) throw new GraphError('CtrLoRA needs at least one condition file');
  const g = new Graph(graphOptionsOf(opts));
  const compute = opts.compute ?? 'float32';
  const timestep = g.input('timestep', 'float32', [opts.batch]);
  const context = declareTextContext(g, opts.batch, opts.tokens, opts.contextDim, opts.regionTokens, opts.regionNegativeReads);
  const strength = g.input('strength', 'float32', [1]);
  const single = opts.names === 'single';
  let sums: Node[] | null = null;
  let first: { cfg: ControlNetConfig; cond: CtrLoraCondition } | null = null;
  conditions.forEach((condition, i) => {
    const { w, cfg, cond, lora } = ctrLoraWeights(g, base, condition, compute);
    const latent = g.input(single ? 'latent' : `latent_${i}`, 'float32', [opts.batch, cfg.inChannels, opts.height, opts.width]);
    const weight = g.input(single ? 'weight' : `weight_${i}`, 'float32', [1]);
    const outs = ctrLoraControl(w, cfg, { timestep, context, latent, scale: op.mul(strength, weight) });
    checkAllUsed(condition, cond, lora);
    sums = sums ? sums.map((s, j) => op.add(s, outs[j])) : outs;
    first ??= { cfg, cond };
  });
  const names = CONTROL_INPUT_NAMES(sums!.length);
  const outputs = Object.fromEntries(sums!.map((o, j) => [names[j], o]));
  return { graph: g, outputs, cfg: first!.cfg, condition: first!.cond };
}
