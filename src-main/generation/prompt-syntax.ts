// AUTOMATIC1111's prompt-weighting syntax, so prompts copied from A1111 or Civitai mean the same thing here:
// `(words)` x1.1, `((words))` x1.21, `(words:1.3)`, `[words]` /1.1, `\(` `\)` `\[` `\]` literal brackets,
// `BREAK` starts a new 75-token chunk. Long prompts are cut into chunks of 75 tokens, each wrapped in BOS/EOS
// and padded to 77; the text encoder runs once per chunk and the hidden states are concatenated.
// Follows modules/prompt_parser.py (parse_prompt_attention) and modules/sd_hijack_clip.py (tokenize_line,
// including the move of a chunk's tail after its last comma into the next chunk) and the "Original" emphasis.
// Prompt editing `[a:b:0.5]` and alternation `[a|b]` are read before this, by prompt-schedule.ts: this file
// sees one step's text. Textual-inversion embeddings named in the text fill one token position per vector
// (prompt-embeddings.ts). Not handled: `AND`.
import { EMBEDDING_PLACEHOLDER_TOKEN, type EmbeddingFix, type EmbeddingLookup, type PromptEmbedding } from './prompt-embeddings.ts';
import { BOS_TOKEN, CONTEXT_LENGTH, EOS_TOKEN, type ClipTokenizer } from './tokenizer.ts';

/** Tokens per chunk between BOS and EOS. */
export const CHUNK_TOKENS = CONTEXT_LENGTH - 2;
/** A1111's `comma_padding_backtrack` default. */
export const DEFAULT_COMMA_BACKTRACK = 20;

export interface PromptChunk {
  ids: Int32Array; // [77]: BOS, 75 tokens (EOS-padded), EOS
  weights: Float32Array; // [77]: 1 at BOS/EOS/padding
  /** Embeddings whose vectors replace the token embeddings at offset + 1 (after BOS); absent when none. */
  fixes?: EmbeddingFix[];
}

export interface WeightedPrompt {
  chunks: PromptChunk[];
  /** Tokens the prompt used (A1111's counter, BREAK padding included), for the "n/75" display. */
  tokenCount: number;
}

/** A piece of prompt text with its weight; BREAK is `{ text: 'BREAK', weight: -1 }` as in A1111. */
export interface AttentionPiece {
  text: string;
  weight: number;
}

// Python's re_attention, alternatives in the same order (first match wins).
const ATTENTION = /\\\(|\\\)|\\\[|\\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()[\]:]+|:/gs;
// Python's re_break `\s*\bBREAK\b\s*` with a Unicode-aware \b (Python 3 str patterns are Unicode).
const BREAK = /\s*(?<![\p{L}\p{N}_])BREAK(?![\p{L}\p{N}_])\s*/su;

const ROUND_MULTIPLIER = 1.1;
const SQUARE_MULTIPLIER = 1 / 1.1;

/** prompt_parser.parse_prompt_attention: text split into runs of equal weight. */
export function parsePromptAttention(text: string): AttentionPiece[] {
  const res: AttentionPiece[] = [];
  const roundBrackets: number[] = [];
  const squareBrackets: number[] = [];
  const multiplyRange = (start: number, multiplier: number): void => {
    for (let p = start; p < res.length; p++) res[p].weight *= multiplier;
  };

  for (const m of text.matchAll(ATTENTION)) {
    const piece = m[0];
    const weight = m[1] === undefined ? undefined : pythonFloat(m[1]);
    if (piece.startsWith('\\')) {
      res.push({ text: piece.slice(1), weight: 1.0 });
    } else if (piece === '(') {
      roundBrackets.push(res.length);
    } else if (piece === '[') {
      squareBrackets.push(res.length);
    } else if (weight !== undefined && roundBrackets.length > 0) {
      multiplyRange(roundBrackets.pop()!, weight);
    } else if (piece === ')' && roundBrackets.length > 0) {
      multiplyRange(roundBrackets.pop()!, ROUND_MULTIPLIER);
    } else if (piece === ']' && squareBrackets.length > 0) {
      multiplyRange(squareBrackets.pop()!, SQUARE_MULTIPLIER);
    } else {
      piece.split(BREAK).forEach((part, i) => {
        if (i > 0) res.push({ text: 'BREAK', weight: -1 });
        res.push({ text: part, weight: 1.0 });
      });
    }
  }
  // unclosed brackets still apply, from where they opened to the end
  for (const pos of roundBrackets) multiplyRange(pos, ROUND_MULTIPLIER);
  for (const pos of squareBrackets) multiplyRange(pos, SQUARE_MULTIPLIER);
  if (res.length === 0) res.push({ text: '', weight: 1.0 });

  // merge runs of identical weights
  for (let i = 0; i + 1 < res.length; ) {
    if (res[i].weight === res[i + 1].weight) {
      res[i].text += res[i + 1].text;
      res.splice(i + 1, 1);
    } else {
      i++;
    }
  }
  return res;
}

/** Python float() of `[+-]?[.\d]+`; A1111 raises on "1.2.3" or "."; here such a weight is read as 1. */
function pythonFloat(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : 1.0;
}

export interface TokenizePromptOptions {
  /** A1111 `comma_padding_backtrack` (0 disables); default 20. */
  commaBacktrack?: number;
  /** false: A1111's emphasis "None", the text is taken literally (brackets are tokens, weights all 1). */
  emphasis?: boolean;
  /** Textual-inversion embeddings the text may name (their names are replaced by their vectors). */
  embeddings?: EmbeddingLookup<PromptEmbedding>;
}

/** A chunk of BOS, 76 EOS and weights 1: what A1111 pads a shorter prompt's chunk list with. */
export function emptyChunk(): PromptChunk {
  const ids = new Int32Array(CONTEXT_LENGTH).fill(EOS_TOKEN);
  ids[0] = BOS_TOKEN;
  return { ids, weights: new Float32Array(CONTEXT_LENGTH).fill(1) };
}

/** sd_hijack_clip tokenize_line: the prompt as chunks of 77 ids with per-token weights. */
export function tokenizeWeightedPrompt(
  text: string,
  tokenizer: ClipTokenizer,
  options: TokenizePromptOptions = {},
): WeightedPrompt {
  const backtrack = options.commaBacktrack ?? DEFAULT_COMMA_BACKTRACK;
  const parsed = options.emphasis === false ? [{ text, weight: 1.0 }] : parsePromptAttention(text);
  const commaToken = tokenizer.tokenId(',</w>');

  const chunks: PromptChunk[] = [];
  let tokens: number[] = [];
  let multipliers: number[] = [];
  let tokenCount = 0;
  let lastComma = -1;
  let fixes: EmbeddingFix[] = [];

  const nextChunk = (isLast = false): void => {
    tokenCount += isLast ? tokens.length : CHUNK_TOKENS;
    const ids = new Int32Array(CONTEXT_LENGTH).fill(EOS_TOKEN);
    const weights = new Float32Array(CONTEXT_LENGTH).fill(1);
    ids[0] = BOS_TOKEN;
    ids.set(tokens, 1);
    weights.set(multipliers, 1);
    chunks.push(fixes.length > 0 ? { ids, weights, fixes } : { ids, weights });
    tokens = [];
    multipliers = [];
    fixes = [];
    lastComma = -1;
  };

  for (const { text: piece, weight } of parsed) {
    if (piece === 'BREAK' && weight === -1) {
      nextChunk();
      continue;
    }
    const pieceTokens = tokenizer.encode(piece);
    for (let position = 0; position < pieceTokens.length; ) {
      const token = pieceTokens[position];
      if (token === commaToken) {
        lastComma = tokens.length;
      } else if (
        backtrack !== 0 &&
        tokens.length === CHUNK_TOKENS &&
        lastComma !== -1 &&
        tokens.length - lastComma <= backtrack
      ) {
        // the chunk is full mid-phrase: move what follows its last comma to the next chunk. As in A1111, the
        // fixes stay with the chunk they were made in (an embedding moved here fills the old chunk's padding).
        const breakAt = lastComma + 1;
        const movedTokens = tokens.slice(breakAt);
        const movedMultipliers = multipliers.slice(breakAt);
        tokens = tokens.slice(0, breakAt);
        multipliers = multipliers.slice(0, breakAt);
        nextChunk();
        tokens = movedTokens;
        multipliers = movedMultipliers;
      }
      if (tokens.length === CHUNK_TOKENS) nextChunk();
      const found = options.embeddings?.find(pieceTokens, position) ?? null;
      if (!found) {
        tokens.push(token);
        multipliers.push(weight);
        position += 1;
        continue;
      }
      // an embedding never straddles two chunks: one that does not fit starts the next
      const count = found.embedding.count;
      if (tokens.length + count > CHUNK_TOKENS) nextChunk();
      fixes.push({ offset: tokens.length, embedding: found.embedding });
      for (let i = 0; i < count; i++) {
        tokens.push(EMBEDDING_PLACEHOLDER_TOKEN);
        multipliers.push(weight);
      }
      position += found.length;
    }
  }
  if (tokens.length > 0 || chunks.length === 0) nextChunk(true);
  return { chunks, tokenCount };
}

/** Pads two prompts' chunk lists to the same length with empty chunks (A1111 does this within a batch). */
export function padChunkLists(a: PromptChunk[], b: PromptChunk[]): [PromptChunk[], PromptChunk[]] {
  const n = Math.max(a.length, b.length);
  const pad = (list: PromptChunk[]): PromptChunk[] => [
    ...list,
    ...Array.from({ length: n - list.length }, emptyChunk),
  ];
  return [pad(a), pad(b)];
}

/** A1111's emphasis modes: 'original' (weights, then the chunk's mean restored), 'no-norm' (weights only),
 *  'ignore' (weights not applied). */
export type EmphasisMode = 'original' | 'no-norm' | 'ignore';

/**
 * Applies token weights to the text encoder's output, one chunk at a time as A1111 does (each chunk is
 * encoded and re-normalised on its own): z *= weight per token, then z *= mean(z before) / mean(z after).
 * `hidden` is [chunks, 77, width] (flattened), `weights` is [chunks, 77]; returns a new array.
 */
export function applyEmphasis(
  hidden: Float32Array, // [chunks, 77, width]
  weights: Float32Array, // [chunks, 77]
  width: number,
  mode: EmphasisMode = 'original',
): Float32Array {
  const chunkCount = weights.length / CONTEXT_LENGTH;
  if (!Number.isInteger(chunkCount) || hidden.length !== chunkCount * CONTEXT_LENGTH * width) {
    throw new RangeError(
      `applyEmphasis: hidden has ${hidden.length} values, weights ${weights.length}: expected [chunks, 77, ${width}]`,
    );
  }
  const out = new Float32Array(hidden);
  if (mode === 'ignore') return out;
  const chunkSize = CONTEXT_LENGTH * width;
  for (let c = 0; c < chunkCount; c++) {
    const base = c * chunkSize;
    let before = 0;
    let after = 0;
    for (let t = 0; t < CONTEXT_LENGTH; t++) {
      const w = weights[c * CONTEXT_LENGTH + t];
      for (let k = base + t * width, end = k + width; k < end; k++) {
        before += out[k];
        out[k] = Math.fround(out[k] * w);
        after += out[k];
      }
    }
    if (mode === 'no-norm' || after === 0) continue;
    // the means share a denominator, so their ratio is the ratio of the sums
    const scale = Math.fround(Math.fround(before / chunkSize) / Math.fround(after / chunkSize));
    for (let k = base; k < base + chunkSize; k++) out[k] = Math.fround(out[k] * scale);
  }
  return out;
}

/** Concatenates the chunks' ids and weights into [chunks, 77] arrays, the text encoder's batch input. */
export function stackChunks(chunks: readonly PromptChunk[]): { ids: Int32Array; weights: Float32Array } {
  const ids = new Int32Array(chunks.length * CONTEXT_LENGTH); // [chunks, 77]
  const weights = new Float32Array(chunks.length * CONTEXT_LENGTH); // [chunks, 77]
  chunks.forEach((chunk, i) => {
    ids.set(chunk.ids, i * CONTEXT_LENGTH);
    weights.set(chunk.weights, i * CONTEXT_LENGTH);
  });
  return { ids, weights };
}
