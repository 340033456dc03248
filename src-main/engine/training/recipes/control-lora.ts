// The "control" recipe: CtrLoRA's idea applied to an ordinary ControlNet. A LoRA on every linear layer of the
// ControlNet plus its zero convolutions and normalisation layers are trained; the rest of the ControlNet and the
// whole UNet stay frozen. The UNet is run with the ControlNet's residuals at weight 1, as in inference.
// Names: LoRA factors `lora_controlnet_<diffusers module path with _>.lora_down/up.weight` (kohya layout), other
// parameters `controlnet.<diffusers parameter name>`, whatever the layout of the ControlNet file.

import type { TensorFile } from '../../../formats/tensor-file.ts';
import type { DataType } from '../../graph/dtype.ts';
import { Graph, GraphError, type Node } from '../../graph/node.ts';
import * as op from '../../graph/ops.ts';
import { controlNet, controlNetView, detectControlNet, type ControlNetConfig } from '../../models/controlnet.ts';
import { detectUnet } from '../../models/unet-config.ts';
import { Weights } from '../../models/weights.ts';
import { freshLoraFactors, TrainableLora, uniformRandom, type TrainableLoraModule } from '../trainable-lora.ts';
import { controlledUnetLoss, diffusionInputs, paramInput, type DiffusionShape, type TrainableParam, type TrainingGraph } from './recipe.ts';

// Original-layout (LDM) ControlNet key -> diffusers ControlNetModel parameter name: the names training writes
// for ControlNet parameters (`controlnet.<diffusers name>`, `lora_controlnet_<diffusers module path>`). The
// block table is derived from the ControlNet's own structure, the way diffusers numbers its blocks (the
// reverse of key-layouts.ts's diffusersControlNetToLdm, which the tests use as the cross-check).
const RESNET_TO_DIFFUSERS: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

/** LDM block path (`input_blocks.4.1`) -> diffusers module path (`down_blocks.1.attentions.0`) and its kind. */
function blockTable(cfg: ControlNetConfig): Map<string, { path: string; kind: 'res' | 'other' }> {
  const table = new Map<string, { path: string; kind: 'res' | 'other' }>();
  table.set('time_embed.0', { path: 'time_embedding.linear_1', kind: 'other' });
  table.set('time_embed.2', { path: 'time_embedding.linear_2', kind: 'other' });
  table.set('input_blocks.0.0', { path: 'conv_in', kind: 'other' });
  table.set('middle_block_out.0', { path: 'controlnet_mid_block', kind: 'other' });
  cfg.hintConvs.forEach(({ index }, i) => {
    const last = i === cfg.hintConvs.length - 1;
    const path = i === 0 ? 'controlnet_cond_embedding.conv_in' : last ? 'controlnet_cond_embedding.conv_out' : `controlnet_cond_embedding.blocks.${i - 1}`;
    table.set(`input_hint_block.${index}`, { path, kind: 'other' });
  });
  cfg.inputBlocks.forEach((_, i) => table.set(`zero_convs.${i}.0`, { path: `controlnet_down_blocks.${i}`, kind: 'other' }));
  let level = 0;
  let within = 0;
  for (const block of cfg.inputBlocks.slice(1)) {
    for (const layer of block.layers) {
      if (layer.kind === 'res') table.set(layer.path, { path: `down_blocks.${level}.resnets.${within}`, kind: 'res' });
      else if (layer.kind === 'transformer') table.set(layer.path, { path: `down_blocks.${level}.attentions.${within}`, kind: 'other' });
      else if (layer.kind === 'down') table.set(`${layer.path}.op`, { path: `down_blocks.${level}.downsamplers.0.conv`, kind: 'other' });
    }
    if (block.layers.some((l) => l.kind === 'down')) {
      level++;
      within = 0;
    } else within++;
  }
  let res = 0;
  for (const layer of cfg.middle) {
    if (layer.kind === 'res') table.set(layer.path, { path: `mid_block.resnets.${res++}`, kind: 'res' });
    else if (layer.kind === 'transformer') table.set(layer.path, { path: 'mid_block.attentions.0', kind: 'other' });
  }
  return table;
}

/** Returns a function mapping an LDM ControlNet key (or module path) to its diffusers name, null if unknown. */
export function controlNetDiffusersNamer(cfg: ControlNetConfig): (ldm: string) => string | null {
  const table = blockTable(cfg);
  return (ldm) => {
    const parts = ldm.split('.');
    for (let cut = Math.min(4, parts.length); cut >= 2; cut--) {
      const found = table.get(parts.slice(0, cut).join('.'));
      if (!found) continue;
      let rest = parts.slice(cut).join('.');
      if (found.kind === 'res') {
        const head = Object.keys(RESNET_TO_DIFFUSERS).find((k) => rest === k || rest.startsWith(`${k}.`));
        if (head) rest = RESNET_TO_DIFFUSERS[head] + rest.slice(head.length);
      }
      return rest ? `${found.path}.${rest}` : found.path;
    }
    return null;
  };
}

export interface ControlLoraOptions extends Omit<DiffusionShape, 'contextDim'> {
  rank?: number; // 4
  alpha?: number; // = rank (scale 1)
  compute?: DataType;
  seed?: number;
}

/** Zero convolutions and normalisation layers: trained in full. */
export function isControlTrainable(diffusersName: string): boolean {
  return diffusersName.startsWith('controlnet_down_blocks.') || diffusersName.startsWith('controlnet_mid_block.') || /(^|\.)norm\d?\./.test(diffusersName);
}

export function buildControlLoraTraining(checkpoint: TensorFile, controlnetFile: TensorFile, opts: ControlLoraOptions): TrainingGraph {
  const ucfg = detectUnet(checkpoint);
  const { view, layout, prefix } = controlNetView(controlnetFile);
  const cfg = detectControlNet(view, layout, prefix);
  if (cfg.hintChannels === 0) throw new GraphError(`${controlnetFile.path}: this ControlNet has no hint encoder`);
  const rank = opts.rank ?? 4;
  const scale = (opts.alpha ?? rank) / rank;
  const compute = opts.compute ?? 'float32';
  const g = new Graph();
  const data = diffusionInputs(g, { ...opts, contextDim: ucfg.contextDim });
  const hint = g.input('hint', 'float32', [opts.batch, cfg.hintChannels, opts.height * 8, opts.width * 8]);
  const diffusersName = controlNetDiffusersNamer(cfg);

  const params: TrainableParam[] = [];
  const replaced = new Map<string, Node>();
  const fromFile = new Map<string, string>(); // param name -> view key
  const modules = new Map<string, TrainableLoraModule>();
  const loraShapes: [string, readonly number[], string, readonly number[]][] = [];
  for (const [key, entry] of view.tensors) {
    const name = diffusersName(key);
    if (!name) throw new GraphError(`${controlnetFile.path}: no diffusers name for ControlNet tensor '${key}'`);
    if (isControlTrainable(name)) {
      const p = paramInput(g, `controlnet.${name}`, entry.shape);
      params.push(p);
      replaced.set(key, p.input);
      fromFile.set(p.name, key);
    } else if (key.endsWith('.weight') && entry.shape.length === 2) {
      // every linear layer gets a LoRA
      const path = key.slice(0, -'.weight'.length);
      const module = `lora_controlnet_${name.slice(0, -'.weight'.length).replace(/\./g, '_')}`;
      const [out, inp] = entry.shape;
      const down = paramInput(g, `${module}.lora_down.weight`, [rank, inp]);
      const up = paramInput(g, `${module}.lora_up.weight`, [out, rank]);
      params.push(down, up);
      modules.set(path, { down: down.input, up: up.input, scale });
      loraShapes.push([down.name, down.input.shape, up.name, up.input.shape]);
    }
  }
  const lora = new TrainableLora(compute, modules);
  const wc = new Weights(g, view, '', compute, lora, replaced);
  const strength = op.constantOf(g, 'float32', [1], [1]);
  const residuals = controlNet(wc, cfg, { sample: data.noisy, timestep: data.timestep, context: data.context, hint, strength });
  lora.checkAllUsed(controlnetFile.path);
  const { loss, checkpoints } = controlledUnetLoss(g, checkpoint, ucfg, compute, data, residuals, replaced);

  const initial = () => {
    const random = uniformRandom(opts.seed ?? 0);
    const values = new Map<string, Float32Array>();
    for (const [name, key] of fromFile) values.set(name, Float32Array.from(view.readFloat32(key)));
    for (const [downName, downShape, upName, upShape] of loraShapes) {
      const f = freshLoraFactors(downShape, upShape, random);
      values.set(downName, f.down).set(upName, f.up);
    }
    return values;
  };
  return { graph: g, loss, params, checkpoints, initial, compute };
}
