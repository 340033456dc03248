// Text conditioning the way A1111 builds it: both prompts in A1111 syntax, cut into 75-token chunks, padded to
// the same chunk count, each chunk encoded on its own (clip skip 1 or 2), token weights applied with the
// chunk's mean restored, and the chunks concatenated along the token axis: context [1, 77 * chunks, D].
// Textual-inversion embeddings named in either prompt enter the text encoder in place of token embeddings.

import { applyEmphasis, padChunkLists, stackChunks, tokenizeWeightedPrompt, type EmphasisMode, type PromptChunk } from '../../generation/prompt-syntax.ts';
import { CONTEXT_LENGTH, getClipTokenizer, type ClipTokenizer } from '../../generation/tokenizer.ts';
import { EmbeddingLookup } from '../../generation/prompt-embeddings.ts';
import type { LoraUse, ModelRuntime, Tensor32 } from './model-runtime.ts';
import { embeddingsForWidth, widthMismatchMessage, type TextualInversion } from './textual-inversion.ts';

export interface PromptPair {
  cond: Tensor32; // [1, 77 * chunks, D]
  uncond: Tensor32; // [1, 77 * chunks, D]
  tokenCount: number;
  /** The embeddings either prompt used, in order of first use. */
  embeddingsUsed: TextualInversion[];
  /** One sentence per embedding the prompts name that was left out (made for another text encoder's width). */
  embeddingMessages: string[];
}

export interface ConditioningOptions {
  clipSkip: 1 | 2;
  loras: readonly LoraUse[];
  emphasis?: EmphasisMode;
  vocabPath?: string;
  /** Embeddings the prompts may name (A1111's embeddings folder). */
  embeddings?: readonly TextualInversion[];
}

/** One prompt's chunks through the text encoder with its token weights: [1, 77 * chunks, D]. */
export async function encodeChunks(
  runtime: ModelRuntime,
  checkpoint: string,
  chunks: readonly PromptChunk[],
  opts: ConditioningOptions,
): Promise<Tensor32> {
  const { ids, weights } = stackChunks(chunks);
  const override = embeddingOverride(chunks, runtime.textWidth(checkpoint));
  const hidden = await runtime.encodeText(checkpoint, ids, chunks.length, opts.clipSkip, opts.loras, override ?? undefined); // [n, 77, D]
  const width = hidden.shape[2];
  const weighted = applyEmphasis(hidden.data, weights, width, opts.emphasis ?? 'original');
  return { shape: [1, chunks.length * hidden.shape[1], width], data: weighted };
}

/**
 * The text encoder's override inputs for the chunks' embeddings, null when none is used: vectors [n, 77, D] and
 * mask [n, 77, 1]. As A1111's EmbeddingsWithFixes, an embedding at `offset` fills positions offset + 1 onward
 * (after BOS), cut at the chunk's end.
 */
export function embeddingOverride(chunks: readonly PromptChunk[], width: number): { vectors: Float32Array; mask: Uint8Array } | null {
  if (!chunks.some((c) => c.fixes?.length)) return null;
  const t = CONTEXT_LENGTH;
  const vectors = new Float32Array(chunks.length * t * width);
  const mask = new Uint8Array(chunks.length * t);
  chunks.forEach((chunk, c) => {
    for (const { offset, embedding } of chunk.fixes ?? []) {
      const e = embedding as TextualInversion;
      const n = Math.min(t - offset - 1, e.count);
      for (let j = 0; j < n; j++) {
        const row = c * t + offset + 1 + j;
        vectors.set(e.vectors.subarray(j * width, (j + 1) * width), row * width);
        mask[row] = 1;
      }
    }
  });
  return { vectors, mask };
}

/** The embeddings of `candidates` that the texts name (matched as the tokenizer would), in order of first use. */
export function namedIn(texts: readonly string[], candidates: readonly TextualInversion[], tokenizer: ClipTokenizer): TextualInversion[] {
  if (candidates.length === 0) return [];
  const lookup = new EmbeddingLookup(candidates, tokenizer);
  const named = new Set<TextualInversion>();
  for (const text of texts) {
    for (const chunk of tokenizeWeightedPrompt(text, tokenizer, { embeddings: lookup }).chunks) {
      for (const f of chunk.fixes ?? []) named.add(f.embedding as TextualInversion);
    }
  }
  return [...named];
}

export async function encodePromptPair(runtime: ModelRuntime, checkpoint: string, prompt: string, negative: string, opts: ConditioningOptions): Promise<PromptPair> {
  const tokenizer = getClipTokenizer(opts.vocabPath);
  const width = runtime.textWidth(checkpoint);
  const { usable, skipped } = embeddingsForWidth(opts.embeddings ?? [], width);
  const embeddings = usable.length > 0 ? new EmbeddingLookup(usable, tokenizer) : undefined;
  const pos = tokenizeWeightedPrompt(prompt, tokenizer, { emphasis: opts.emphasis !== 'ignore', embeddings });
  const neg = tokenizeWeightedPrompt(negative, tokenizer, { emphasis: opts.emphasis !== 'ignore', embeddings });
  const [pc, nc] = padChunkLists(pos.chunks, neg.chunks);
  const used = new Map<string, TextualInversion>();
  for (const chunk of [...pos.chunks, ...neg.chunks]) for (const f of chunk.fixes ?? []) used.set(f.embedding.name, f.embedding as TextualInversion);
  return {
    cond: await encodeChunks(runtime, checkpoint, pc, opts),
    uncond: await encodeChunks(runtime, checkpoint, nc, opts),
    tokenCount: pos.tokenCount,
    embeddingsUsed: [...used.values()],
    embeddingMessages: namedIn([prompt, negative], skipped, tokenizer).map((e) => widthMismatchMessage(e, width)),
  };
}

/** Stacks tensors [1, ...] along the batch axis: [n, ...]. */
export function batchOf(parts: readonly Tensor32[]): Tensor32 {
  const size = parts[0].data.length;
  const data = new Float32Array(size * parts.length);
  parts.forEach((p, i) => data.set(p.data, i * size));
  return { shape: [parts.length, ...parts[0].shape.slice(1)], data };
}
