// Text conditioning the way A1111 builds it: both prompts in A1111 syntax, cut into 75-token chunks, padded to
// the same chunk count, each chunk encoded on its own (clip skip 1 or 2), token weights applied with the
// chunk's mean restored, and the chunks concatenated along the token axis: context [1, 77 * chunks, D].

import { applyEmphasis, padChunkLists, stackChunks, tokenizeWeightedPrompt, type EmphasisMode } from '../../generation/prompt-syntax.ts';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import type { LoraUse, ModelRuntime, Tensor32 } from './model-runtime.ts';

export interface PromptPair {
  cond: Tensor32; // [1, 77 * chunks, D]
  uncond: Tensor32; // [1, 77 * chunks, D]
  tokenCount: number;
}

export interface ConditioningOptions {
  clipSkip: 1 | 2;
  loras: readonly LoraUse[];
  emphasis?: EmphasisMode;
  vocabPath?: string;
}

export async function encodeChunks(
  runtime: ModelRuntime,
  checkpoint: string,
  chunks: ReturnType<typeof padChunkLists>[0],
  opts: ConditioningOptions,
): Promise<Tensor32> {
  const { ids, weights } = stackChunks(chunks);
  const hidden = await runtime.encodeText(checkpoint, ids, chunks.length, opts.clipSkip, opts.loras); // [n, 77, D]
  const width = hidden.shape[2];
  const weighted = applyEmphasis(hidden.data, weights, width, opts.emphasis ?? 'original');
  return { shape: [1, chunks.length * hidden.shape[1], width], data: weighted };
}

export async function encodePromptPair(runtime: ModelRuntime, checkpoint: string, prompt: string, negative: string, opts: ConditioningOptions): Promise<PromptPair> {
  const tokenizer = getClipTokenizer(opts.vocabPath);
  const pos = tokenizeWeightedPrompt(prompt, tokenizer, { emphasis: opts.emphasis !== 'ignore' });
  const neg = tokenizeWeightedPrompt(negative, tokenizer, { emphasis: opts.emphasis !== 'ignore' });
  const [pc, nc] = padChunkLists(pos.chunks, neg.chunks);
  return {
    cond: await encodeChunks(runtime, checkpoint, pc, opts),
    uncond: await encodeChunks(runtime, checkpoint, nc, opts),
    tokenCount: pos.tokenCount,
  };
}

/** Stacks tensors [1, ...] along the batch axis: [n, ...]. */
export function batchOf(parts: readonly Tensor32[]): Tensor32 {
  const size = parts[0].data.length;
  const data = new Float32Array(size * parts.length);
  parts.forEach((p, i) => data.set(p.data, i * size));
  return { shape: [parts.length, ...parts[0].shape.slice(1)], data };
}
