// CLIP text encoder as SD1.5 checkpoints carry it under `cond_stage_model.transformer.text_model.` (the
// Hugging Face CLIPTextModel layout): token + position embeddings, pre-LN transformer layers with a causal mask
// and QuickGELU, then the final LayerNorm. "Clip skip 2" takes the penultimate layer's output and still applies
// the final LayerNorm, as A1111 and diffusers do.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { Graph, GraphError, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import { attention, layerNorm, linear, quickGelu } from './layers.ts';
import type { LoraSet } from './lora.ts';
import { Weights } from './weights.ts';

export const CLIP_TEXT_PREFIXES = ['cond_stage_model.transformer.text_model.', 'cond_stage_model.transformer.', 'text_model.'];

export interface ClipTextConfig {
  prefix: string;
  vocab: number;
  positions: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
}

/**
 * The head count is not stored in the weights. Released CLIP text towers use 64-wide heads (ViT-L/14 in SD1.5:
 * 768 = 12 x 64, at least 8 heads); towers narrower than any released model (the test models) use 4 heads,
 * as the reference generator does.
 */
export function clipHeads(width: number): number {
  return width % 64 === 0 && width / 64 >= 8 ? width / 64 : 4;
}

export function detectClipText(file: TensorFile): ClipTextConfig {
  const prefix = CLIP_TEXT_PREFIXES.find((p) => file.tensors.has(`${p}embeddings.token_embedding.weight`));
  if (!prefix) throw new GraphError(`${file.path}: no CLIP text encoder (cond_stage_model.transformer.text_model.*) in this file`);
  const tok = file.tensors.get(`${prefix}embeddings.token_embedding.weight`)!.shape;
  const pos = file.tensors.get(`${prefix}embeddings.position_embedding.weight`)!.shape;
  let layers = 0;
  while (file.tensors.has(`${prefix}encoder.layers.${layers}.self_attn.q_proj.weight`)) layers++;
  const mlp = file.tensors.get(`${prefix}encoder.layers.0.mlp.fc1.weight`)?.shape;
  if (layers === 0 || !mlp) throw new GraphError(`${file.path}: CLIP text encoder has no transformer layers`);
  return { prefix, vocab: tok[0], positions: pos[0], width: tok[1], layers, heads: clipHeads(tok[1]), mlpWidth: mlp[0] };
}

/** Causal mask [T, T]: 0 on and below the diagonal, a large negative number above. */
function causalMask(g: Graph, t: number, dtype: DataType): Node {
  const values = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) values[i * t + j] = dtype === 'float16' ? -65504 : -3.4028234663852886e38;
  return op.constantOf(g, dtype, [t, t], values, 'causal_mask');
}

export interface ClipTextOutputs {
  hidden: Node; // [B, T, D] last layer, final LayerNorm
  hiddenSkip2: Node; // [B, T, D] penultimate layer, final LayerNorm
}

/**
 * Textual-inversion vectors that take the place of token embeddings, as A1111's EmbeddingsWithFixes does:
 * where `mask` is true the token embedding is replaced by `vectors` (position embeddings are still added).
 */
export interface TokenOverride {
  vectors: Node; // [B, T, D] float32
  mask: Node; // [B, T, 1] bool
}

/** Builds the encoder on token ids [B, T] (int64), with some token embeddings replaced when `override` is given. */
export function clipTextEncoder(w: Weights, cfg: ClipTextConfig, ids: Node, override?: TokenOverride): ClipTextOutputs {
  const [, t] = ids.shape;
  if (t > cfg.positions) throw new GraphError(`CLIP text encoder takes at most ${cfg.positions} tokens, got ${t}`);
  const emb = w.sub('embeddings');
  let tokens = op.gather(emb.sub('token_embedding').get('weight'), ids); // [B, T, D]
  // Where selects exactly: unmasked positions keep the table's values bit for bit
  if (override) tokens = op.where(override.mask, op.cast(override.vectors, w.compute), tokens); // [B, T, D]
  const positions = op.slice(emb.sub('position_embedding').get('weight'), 0, 0, t); // [T, D]
  let x = op.add(tokens, positions);
  const mask = causalMask(w.g, t, w.compute);
  const outputs: Node[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const layer = w.sub('encoder').sub('layers').sub(i);
    const attn = layer.sub('self_attn');
    const h = layerNorm(layer.sub('layer_norm1'), x);
    const q = linear(attn.sub('q_proj'), h);
    const k = linear(attn.sub('k_proj'), h);
    const v = linear(attn.sub('v_proj'), h);
    x = op.add(x, linear(attn.sub('out_proj'), attention(q, k, v, cfg.heads, mask)));
    const m = layerNorm(layer.sub('layer_norm2'), x);
    x = op.add(x, linear(layer.sub('mlp').sub('fc2'), quickGelu(linear(layer.sub('mlp').sub('fc1'), m))));
    outputs.push(x);
  }
  const final = w.sub('final_layer_norm');
  return {
    hidden: layerNorm(final, outputs[outputs.length - 1]),
    hiddenSkip2: layerNorm(final, outputs[Math.max(0, outputs.length - 2)]),
  };
}

/** The kohya module name of a text-encoder layer path (`lora_te_text_model_encoder_layers_0_mlp_fc1`). */
export function clipLoraName(cfg: ClipTextConfig): (path: string) => string | null {
  return (path) => {
    if (!path.startsWith(cfg.prefix)) return null;
    return `lora_te_text_model_${path.slice(cfg.prefix.length).replace(/\./g, '_')}`;
  };
}

export function buildClipTextGraph(
  file: TensorFile,
  opts: {
    batch: number;
    tokens?: number;
    compute?: DataType;
    loras?: (g: Graph, cfg: ClipTextConfig) => LoraSet | null;
    /** Adds the inputs `embedding_vectors` [B, T, D] float32 and `embedding_mask` [B, T, 1] bool (TokenOverride). */
    embeddingInputs?: boolean;
  },
): { graph: Graph; outputs: ClipTextOutputs; cfg: ClipTextConfig } {
  const cfg = detectClipText(file);
  const g = new Graph();
  const t = opts.tokens ?? cfg.positions;
  const ids = g.input('input_ids', 'int64', [opts.batch, t]);
  const override = opts.embeddingInputs
    ? { vectors: g.input('embedding_vectors', 'float32', [opts.batch, t, cfg.width]), mask: g.input('embedding_mask', 'bool', [opts.batch, t, 1]) }
    : undefined;
  const compute = opts.compute ?? 'float32';
  const loras = opts.loras ? opts.loras(g, cfg) : null;
  const w = new Weights(g, file, cfg.prefix, compute, loras);
  const outputs = clipTextEncoder(w, cfg, ids, override);
  return { graph: g, outputs: { hidden: op.cast(outputs.hidden, 'float32'), hiddenSkip2: op.cast(outputs.hiddenSkip2, 'float32') }, cfg };
}
