// The "control" recipe: CtrLoRA's idea applied to an ordinary ControlNet. A LoRA on every linear layer of the
// ControlNet plus its zero convolutions and normalisation layers are trained; the rest of the ControlNet and the
// whole UNet stay frozen. The UNet is run with the ControlNet's residuals at weight 1, as in inference.
// Names: LoRA factors `lora_controlnet_<diffusers module path with _>.lora_down/up.weight` (kohya layout), other
// parameters `controlnet.<diffusers parameter name>`, whatever the layout of the ControlNet file.

import type { TensorFile } from '../../../formats/tensor-file.ts';
import type { DataType } from '../../graph/dtype.ts';
import { Graph, GraphError, type Node } from '../../graph/node.ts';
import * as op from '../../graph/ops.ts';
import { controlNet, controlNetView, detectControlNet } from '../../models/controlnet.ts';
import { unet } from '../../models/unet.ts';
import { detectUnet } from '../../models/unet-config.ts';
import { Weights } from '../../models/weights.ts';
import { freshLoraFactors, TrainableLora, type TrainableLoraModule } from '../trainable-lora.ts';
import { controlNetDiffusersNamer } from './controlnet-names.ts';
import { convInputsReading, diffusionInputs, epsilonMse, paramInput, type DiffusionShape, type TrainableParam, type TrainingGraph } from './recipe.ts';

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
  const checkpoints: Node[] = [];
  const wu = new Weights(g, checkpoint, ucfg.prefix, compute);
  const eps = unet(wu, ucfg, { sample: data.noisy, timestep: data.timestep, context: data.context, control: residuals, onBlockOutput: (h) => checkpoints.push(h) });
  const loss = epsilonMse(eps, data.noise);
  // The ControlNet's block outputs are what its zero convolutions read.
  const zeroWeights = new Set([...replaced].filter(([k]) => /^(zero_convs\.\d+\.0|middle_block_out\.0)\.weight$/.test(k)).map(([, n]) => op.cast(n, compute)));
  checkpoints.push(...convInputsReading(loss, zeroWeights));

  const initial = () => {
    let s = (opts.seed ?? 0) >>> 0;
    const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
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
