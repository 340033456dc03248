// The "style" recipe: a kohya-layout LoRA on the UNet's transformer blocks — attn1/attn2 to_q, to_k, to_v,
// to_out.0, ff.net.0.proj, ff.net.2 and the proj_in/proj_out projections (1x1 convolutions in SD1.5, linear in
// some fine-tunes) — with everything else frozen. Parameters are named as the kohya file will store them
// (`lora_unet_<diffusers path>.lora_down.weight` / `.lora_up.weight`), so saving is writing the values out.
// With `textEncoder`, kohya's text-encoder LoRA too (`lora_te_text_model_encoder_layers_N_{self_attn_{q,k,v,out}_proj,
// mlp_fc1,mlp_fc2}`): the context is then computed in the graph from an `input_ids` [B, T] int64 input (the last
// layer's hidden states, clip skip 1) and the `context` input is gone.

import type { TensorFile } from '../../../formats/tensor-file.ts';
import type { DataType } from '../../graph/dtype.ts';
import { Graph, GraphError, type GraphOptions } from '../../graph/node.ts';
import { clipLoraName, clipTextEncoder, detectClipText, type ClipTextConfig } from '../../models/clip-text.ts';
import { unet } from '../../models/unet.ts';
import { detectUnet, unetLoraName, type UnetConfig } from '../../models/unet-config.ts';
import { Weights } from '../../models/weights.ts';
import { freshLoraFactors, TrainableLora, uniformRandom, type TrainableLoraModule } from '../trainable-lora.ts';
import { diffusionInputs, epsilonMse, paramInput, type DiffusionShape, type TrainableParam, type TrainingGraph } from './recipe.ts';

export interface StyleLoraOptions extends Omit<DiffusionShape, 'contextDim'>, Pick<GraphOptions, 'attentionChunkElements'> {
  rank?: number; // 4
  alpha?: number; // rank / 2, kohya's usual choice; scale = alpha / rank
  compute?: DataType;
  /** Seed of the fresh initialisation (down uniform, up zero). */
  seed?: number;
  /** Also train a LoRA on the CLIP text encoder (the context comes from `input_ids` then). */
  textEncoder?: boolean;
}

/** Key paths (with the prefix) of the text-encoder layers kohya's LoRA trains: attention projections and MLP. */
export function textEncoderLoraLayers(cfg: ClipTextConfig): string[] {
  const paths: string[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const layer = `${cfg.prefix}encoder.layers.${i}`;
    for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) paths.push(`${layer}.self_attn.${p}`);
    paths.push(`${layer}.mlp.fc1`, `${layer}.mlp.fc2`);
  }
  return paths;
}

/** Key paths (with the checkpoint prefix) of every layer the style LoRA trains. */
export function styleLoraLayers(cfg: UnetConfig): string[] {
  const paths: string[] = [];
  const blocks = [...cfg.inputBlocks.map((b) => b.layers), cfg.middle, ...cfg.outputBlocks.map((b) => b.layers)];
  for (const layers of blocks) {
    for (const layer of layers) {
      if (layer.kind !== 'transformer') continue;
      const base = `${cfg.prefix}${layer.path}`;
      paths.push(`${base}.proj_in`, `${base}.proj_out`);
      for (let d = 0; d < layer.depth; d++) {
        const blk = `${base}.transformer_blocks.${d}`;
        for (const attn of ['attn1', 'attn2']) for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) paths.push(`${blk}.${attn}.${p}`);
        paths.push(`${blk}.ff.net.0.proj`, `${blk}.ff.net.2`);
      }
    }
  }
  return paths;
}

export function buildStyleLoraTraining(checkpoint: TensorFile, opts: StyleLoraOptions): TrainingGraph {
  const cfg = detectUnet(checkpoint);
  const rank = opts.rank ?? 4;
  const scale = (opts.alpha ?? rank / 2) / rank;
  const compute = opts.compute ?? 'float32';
  const g = new Graph({ attentionChunkElements: opts.attentionChunkElements });
  const data = diffusionInputs(g, { ...opts, contextDim: cfg.contextDim });
  const namer = unetLoraName(cfg);
  const params: TrainableParam[] = [];
  const modules = new Map<string, TrainableLoraModule>();
  const shapes = new Map<string, readonly number[]>();
  for (const path of styleLoraLayers(cfg)) {
    const entry = checkpoint.tensors.get(`${path}.weight`);
    const name = namer(path);
    if (!entry || !name) throw new GraphError(`${checkpoint.path}: no layer '${path}' for the style LoRA`);
    const [out, inp] = entry.shape; // [out, in] or [out, in, 1, 1]
    const conv = entry.shape.length === 4;
    const down = paramInput(g, `${name}.lora_down.weight`, conv ? [rank, inp, 1, 1] : [rank, inp]);
    const up = paramInput(g, `${name}.lora_up.weight`, conv ? [out, rank, 1, 1] : [out, rank]);
    params.push(down, up);
    shapes.set(down.name, down.input.shape).set(up.name, up.input.shape);
    modules.set(path, { down: down.input, up: up.input, scale });
  }
  const lora = new TrainableLora(compute, modules);
  const checkpoints: TrainingGraph['checkpoints'] = [];
  let context = data.context;
  if (opts.textEncoder) {
    const ccfg = detectClipText(checkpoint);
    const teNamer = clipLoraName(ccfg);
    const teModules = new Map<string, TrainableLoraModule>();
    for (const path of textEncoderLoraLayers(ccfg)) {
      const entry = checkpoint.tensors.get(`${path}.weight`);
      const name = teNamer(path);
      if (!entry || !name) throw new GraphError(`${checkpoint.path}: no text encoder layer '${path}' for the style LoRA`);
      const [out, inp] = entry.shape; // [out, in]
      const down = paramInput(g, `${name}.lora_down.weight`, [rank, inp]);
      const up = paramInput(g, `${name}.lora_up.weight`, [out, rank]);
      params.push(down, up);
      shapes.set(down.name, down.input.shape).set(up.name, up.input.shape);
      teModules.set(path, { down: down.input, up: up.input, scale });
    }
    const teLora = new TrainableLora(compute, teModules);
    const ids = g.input('input_ids', 'int64', [opts.batch, opts.tokens]);
    context = clipTextEncoder(new Weights(g, checkpoint, ccfg.prefix, compute, teLora), ccfg, ids).hidden; // [B, T, D]
    teLora.checkAllUsed(checkpoint.path);
  }
  const w = new Weights(g, checkpoint, cfg.prefix, compute, lora);
  const eps = unet(w, cfg, { sample: data.noisy, timestep: data.timestep, context, control: null, onBlockOutput: (h) => checkpoints.push(h) });
  lora.checkAllUsed(checkpoint.path);
  const initial = () => {
    const random = uniformRandom(opts.seed ?? 0);
    const values = new Map<string, Float32Array>();
    for (let i = 0; i < params.length; i += 2) {
      const f = freshLoraFactors(shapes.get(params[i].name)!, shapes.get(params[i + 1].name)!, random);
      values.set(params[i].name, f.down).set(params[i + 1].name, f.up);
    }
    return values;
  };
  return { graph: g, loss: epsilonMse(eps, data.noise), params, checkpoints, initial, compute };
}
