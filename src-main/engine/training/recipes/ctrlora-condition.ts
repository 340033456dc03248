// The "ctrlora" recipe: CtrLoRA's fine-tuning of a new condition on a frozen Base ControlNet and frozen UNet.
// What is trained is exactly what a condition file holds — a scale-1 LoRA (up(down(x))) on every linear layer,
// the zero convolutions and every norm layer — so the parameters are named by the release's own keys
// (`control_model.<path>.lora_layer.down.weight`, `control_model.zero_convs.N.0.weight`, ...) and saving a
// trained condition is writing them out. The Base ControlNet reads the condition image's VAE latent (`latent`
// input), as in inference (models/ctrlora.ts).
//
// Starting values come from a condition-layout file (an existing condition to continue, or the goldens); with
// none, the base's own pretraining-task copies give the layout and the zero convs' and norms' values, and the
// LoRA starts fresh (down ~ N(0, 1/rank), up = 0, diffusers' LoRALinearLayer initialisation).

import type { TensorFile } from '../../../formats/tensor-file.ts';
import type { DataType } from '../../graph/dtype.ts';
import { Graph, GraphError, type Node } from '../../graph/node.ts';
import * as op from '../../graph/ops.ts';
import { detectControlNet } from '../../models/controlnet.ts';
import { ctrLoraControl, ctrLoraView, detectCtrLoraCondition, replacedByCondition } from '../../models/ctrlora.ts';
import { renamedView } from '../../models/key-layouts.ts';
import { detectUnet } from '../../models/unet-config.ts';
import { Weights } from '../../models/weights.ts';
import { normalRandom, TrainableLora, type TrainableLoraModule } from '../trainable-lora.ts';
import { controlledUnetLoss, diffusionInputs, paramInput, type DiffusionShape, type TrainableParam, type TrainingGraph } from './recipe.ts';

export interface CtrLoraTrainingOptions extends Omit<DiffusionShape, 'contextDim'> {
  compute?: DataType;
  seed?: number;
}

/** The base's own condition-layout tensors (lora_layer, zero convs, norms) as a condition file. */
export function baseAsCondition(base: TensorFile): TensorFile {
  return renamedView(base, (k) => (replacedByCondition(k) ? k : null));
}

export function buildCtrLoraTraining(checkpoint: TensorFile, base: TensorFile, condition: TensorFile | null, opts: CtrLoraTrainingOptions): TrainingGraph {
  const fresh = condition === null;
  const condFile = condition ?? baseAsCondition(base);
  const cond = detectCtrLoraCondition(condFile);
  const view = ctrLoraView(base, condFile, cond);
  const cfg = detectControlNet(view, 'original', cond.prefix);
  const ucfg = detectUnet(checkpoint);
  const compute = opts.compute ?? 'float32';
  const g = new Graph();
  const data = diffusionInputs(g, { ...opts, contextDim: ucfg.contextDim });
  const latent = g.input('latent', 'float32', [opts.batch, cfg.inChannels, opts.height, opts.width]);

  const params: TrainableParam[] = [];
  const byKey = new Map<string, Node>(); // condition key (with prefix) -> input
  for (const [key, entry] of condFile.tensors) {
    if (!key.startsWith(cond.prefix)) continue;
    const p = paramInput(g, key, entry.shape);
    params.push(p);
    byKey.set(key, p.input);
  }
  const replaced = new Map<string, Node>();
  for (const [key, input] of byKey) if (!key.includes('lora_layer')) replaced.set(key.slice(cond.prefix.length), input);
  const modules = new Map<string, TrainableLoraModule>();
  for (const [path, m] of cond.modules) modules.set(path, { down: byKey.get(m.down)!, up: byKey.get(m.up)!, scale: 1 });
  if (modules.size === 0) throw new GraphError(`${condFile.path}: no LoRA layers to train`);

  const lora = new TrainableLora(compute, modules);
  const w = new Weights(g, view, '', compute, lora, replaced);
  const scale = op.constantOf(g, 'float32', [1], [1]);
  const residuals = ctrLoraControl(w, cfg, { timestep: data.timestep, context: data.context, latent, scale });
  lora.checkAllUsed(condFile.path);
  const { loss, checkpoints } = controlledUnetLoss(g, checkpoint, ucfg, compute, data, residuals, replaced);

  const initial = () => {
    const values = new Map<string, Float32Array>();
    for (const p of params) values.set(p.name, Float32Array.from(condFile.readFloat32(p.name)));
    if (fresh) {
      const normal = normalRandom(opts.seed ?? 0);
      for (const m of cond.modules.values()) {
        values.set(m.down, Float32Array.from(values.get(m.down)!, () => normal() / m.rank));
        values.get(m.up)!.fill(0);
      }
    }
    return values;
  };
  return { graph: g, loss, params, checkpoints, initial, compute };
}
