// Reads the UNet's architecture from the checkpoint's tensors alone: block layout (which input/output block
// holds a ResBlock, a SpatialTransformer, a down/upsampler), channel widths, transformer depth, context width,
// input channels (4, or 9 for inpainting checkpoints). Also derives the diffusers module name of every LDM
// block, which LoRA files (kohya and PEFT) use to address layers.

import type { TensorFile } from '../../formats/tensor-file.ts';
import { GraphError } from '../graph/node.ts';

export const UNET_PREFIX = 'model.diffusion_model.';

export type UnetLayer =
  | { kind: 'res'; path: string; outChannels: number }
  | { kind: 'transformer'; path: string; depth: number; linearProj: boolean }
  | { kind: 'down'; path: string }
  | { kind: 'up'; path: string };

export interface UnetBlock {
  path: string; // e.g. 'input_blocks.4'
  layers: UnetLayer[];
}

export interface UnetConfig {
  prefix: string;
  inChannels: number;
  outChannels: number;
  modelChannels: number;
  timeEmbedDim: number;
  contextDim: number;
  /** SD1.5 fixes the head count at 8 (not the head width): `num_heads: 8` in its LDM config. */
  heads: number;
  inputBlocks: UnetBlock[];
  middle: UnetLayer[];
  outputBlocks: UnetBlock[];
  /** LDM block path (`input_blocks.4.1`) -> diffusers module path (`down_blocks.1.attentions.0`). */
  diffusersNames: Map<string, string>;
}

function count(file: TensorFile, prefix: string, child: string): number {
  let n = 0;
  while (file.tensors.has(`${prefix}${child}.${n}.norm1.weight`)) n++;
  return n;
}

function readLayer(file: TensorFile, prefix: string, path: string): UnetLayer | null {
  const p = `${prefix}${path}.`;
  if (file.tensors.has(`${p}in_layers.2.weight`)) {
    return { kind: 'res', path, outChannels: file.tensors.get(`${p}out_layers.3.weight`)!.shape[0] };
  }
  if (file.tensors.has(`${p}proj_in.weight`)) {
    const depth = count(file, p, 'transformer_blocks');
    return { kind: 'transformer', path, depth, linearProj: file.tensors.get(`${p}proj_in.weight`)!.shape.length === 2 };
  }
  if (file.tensors.has(`${p}op.weight`)) return { kind: 'down', path };
  if (file.tensors.has(`${p}conv.weight`)) return { kind: 'up', path };
  return null;
}

export function readBlock(file: TensorFile, prefix: string, path: string): UnetBlock {
  const layers: UnetLayer[] = [];
  for (let j = 0; ; j++) {
    const layer = readLayer(file, prefix, `${path}.${j}`);
    if (!layer) break;
    layers.push(layer);
  }
  return { path, layers };
}

export function blockCount(file: TensorFile, prefix: string, name: string): number {
  let n = 0;
  const head = `${prefix}${name}.`;
  for (const k of file.tensors.keys()) {
    if (!k.startsWith(head)) continue;
    const i = Number(k.slice(head.length).split('.')[0]);
    if (Number.isInteger(i)) n = Math.max(n, i + 1);
  }
  return n;
}

export function detectUnet(file: TensorFile, prefix = UNET_PREFIX): UnetConfig {
  const convIn = file.tensors.get(`${prefix}input_blocks.0.0.weight`);
  if (!convIn) throw new GraphError(`${file.path}: no SD1.5 UNet (model.diffusion_model.input_blocks.*) in this file`);
  const inputBlocks = Array.from({ length: blockCount(file, prefix, 'input_blocks') }, (_, i) =>
    i === 0 ? { path: 'input_blocks.0', layers: [] } : readBlock(file, prefix, `input_blocks.${i}`),
  );
  const outputBlocks = Array.from({ length: blockCount(file, prefix, 'output_blocks') }, (_, i) => readBlock(file, prefix, `output_blocks.${i}`));
  const middle = readBlock(file, prefix, 'middle_block').layers;
  if (middle.length === 0 || outputBlocks.length === 0) throw new GraphError(`${file.path}: UNet has no middle or output blocks`);
  let contextDim = 0;
  for (const [k, e] of file.tensors) {
    if (k.startsWith(prefix) && k.endsWith('attn2.to_k.weight')) {
      contextDim = e.shape[1];
      break;
    }
  }
  const out = file.tensors.get(`${prefix}out.2.weight`);
  if (!out) throw new GraphError(`${file.path}: UNet output convolution (out.2) missing`);
  const cfg: UnetConfig = {
    prefix,
    inChannels: convIn.shape[1],
    outChannels: out.shape[0],
    modelChannels: convIn.shape[0],
    timeEmbedDim: file.tensors.get(`${prefix}time_embed.0.weight`)!.shape[0],
    contextDim,
    heads: 8,
    inputBlocks,
    middle,
    outputBlocks,
    diffusersNames: new Map(),
  };
  nameDiffusersModules(cfg);
  return cfg;
}

/** Fills cfg.diffusersNames by walking the blocks the way diffusers numbers its down/mid/up blocks. */
function nameDiffusersModules(cfg: UnetConfig): void {
  const names = cfg.diffusersNames;
  names.set('input_blocks.0.0', 'conv_in');
  names.set('time_embed.0', 'time_embedding.linear_1');
  names.set('time_embed.2', 'time_embedding.linear_2');
  names.set('out.0', 'conv_norm_out');
  names.set('out.2', 'conv_out');
  let level = 0;
  let within = 0;
  for (const block of cfg.inputBlocks.slice(1)) {
    for (const layer of block.layers) {
      if (layer.kind === 'res') names.set(layer.path, `down_blocks.${level}.resnets.${within}`);
      else if (layer.kind === 'transformer') names.set(layer.path, `down_blocks.${level}.attentions.${within}`);
      else if (layer.kind === 'down') names.set(layer.path, `down_blocks.${level}.downsamplers.0`);
    }
    if (block.layers.some((l) => l.kind === 'down')) {
      level++;
      within = 0;
    } else within++;
  }
  let res = 0;
  for (const layer of cfg.middle) {
    if (layer.kind === 'res') names.set(layer.path, `mid_block.resnets.${res++}`);
    else if (layer.kind === 'transformer') names.set(layer.path, 'mid_block.attentions.0');
  }
  level = 0;
  within = 0;
  for (const block of cfg.outputBlocks) {
    for (const layer of block.layers) {
      if (layer.kind === 'res') names.set(layer.path, `up_blocks.${level}.resnets.${within}`);
      else if (layer.kind === 'transformer') names.set(layer.path, `up_blocks.${level}.attentions.${within}`);
      else if (layer.kind === 'up') names.set(layer.path, `up_blocks.${level}.upsamplers.0`);
    }
    if (block.layers.some((l) => l.kind === 'up')) {
      level++;
      within = 0;
    } else within++;
  }
}

const RESNET_PARTS: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
  op: 'conv',
};

/** LDM layer path (without the prefix) -> kohya module name, e.g. `lora_unet_down_blocks_0_attentions_0_proj_in`. */
export function unetLoraName(cfg: UnetConfig): (path: string) => string | null {
  return (fullPath) => {
    if (!fullPath.startsWith(cfg.prefix)) return null;
    const path = fullPath.slice(cfg.prefix.length);
    const parts = path.split('.');
    for (let cut = Math.min(3, parts.length); cut >= 2; cut--) {
      const head = parts.slice(0, cut).join('.');
      const mapped = cfg.diffusersNames.get(head);
      if (!mapped) continue;
      const rest = parts.slice(cut).join('.');
      const translated = RESNET_PARTS[rest] ?? rest;
      return `lora_unet_${[mapped, translated].filter(Boolean).join('.').replace(/\./g, '_')}`;
    }
    return null;
  };
}
