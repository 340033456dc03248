// Textual-inversion embeddings in prompt text, matched as A1111 matches them (modules/textual_inversion's
// EmbeddingDatabase): an embedding is registered under the token ids of its name (the file's stem, through the
// same CLIP tokenizer, so matching ignores case), candidates sharing a first token are tried longest first, and
// a match is looked for at every token position of each weighted piece of the prompt. The tokenizer
// (prompt-syntax.ts) then puts one placeholder token per vector in the chunk and records where the vectors go.
import type { ClipTokenizer } from './tokenizer.ts';

/** What the tokenizer needs to know about an embedding: its name and how many token positions it fills. */
export interface PromptEmbedding {
  readonly name: string;
  /** Vectors, i.e. token positions taken in the chunk. */
  readonly count: number;
}

/** Where an embedding's vectors go: `offset` counts the chunk's tokens after BOS (A1111's PromptChunkFix). */
export interface EmbeddingFix<E extends PromptEmbedding = PromptEmbedding> {
  offset: number;
  embedding: E;
}

/** A1111 writes token id 0 in the positions an embedding fills; the text encoder replaces them. */
export const EMBEDDING_PLACEHOLDER_TOKEN = 0;

export class EmbeddingLookup<E extends PromptEmbedding = PromptEmbedding> {
  private readonly byFirstToken = new Map<number, { ids: number[]; embedding: E }[]>();

  /** Later entries with the same name replace earlier ones, as re-registering does in A1111. */
  constructor(embeddings: readonly E[], tokenizer: ClipTokenizer) {
    const byName = new Map<string, E>();
    for (const e of embeddings) byName.set(e.name, e);
    for (const embedding of byName.values()) {
      const ids = tokenizer.encode(embedding.name);
      if (ids.length === 0 || embedding.count < 1) continue;
      const list = this.byFirstToken.get(ids[0]) ?? [];
      list.push({ ids, embedding });
      // stable sort, longest name first: "bad_hands_v2" wins over "bad_hands" where both match
      list.sort((a, b) => b.ids.length - a.ids.length);
      this.byFirstToken.set(ids[0], list);
    }
  }

  get size(): number {
    let n = 0;
    for (const list of this.byFirstToken.values()) n += list.length;
    return n;
  }

  /** The embedding whose name's tokens start at `position` of `tokens`, and how many tokens the name took. */
  find(tokens: readonly number[], position: number): { embedding: E; length: number } | null {
    const candidates = this.byFirstToken.get(tokens[position]);
    if (!candidates) return null;
    for (const { ids, embedding } of candidates) {
      if (position + ids.length > tokens.length) continue;
      let same = true;
      for (let i = 0; i < ids.length && same; i++) same = tokens[position + i] === ids[i];
      if (same) return { embedding, length: ids.length };
    }
    return null;
  }
}
