// CLIP's byte-level BPE tokenizer, as openai/CLIP's simple_tokenizer does it (SD1.5's text encoder was trained
// on these ids): basic cleaning (HTML unescape twice, strip; no ftfy), whitespace runs to one space, lowercase,
// CLIP's split pattern, bytes mapped to printable characters, BPE with a `</w>` end-of-word marker.
// The vocabulary ships gzipped in resources/clip/ (MIT, OpenAI); it is read once, on first use.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unescapeHtml } from './html-unescape.ts';

export const BOS_TOKEN = 49406; // <|startoftext|>
export const EOS_TOKEN = 49407; // <|endoftext|>, also CLIP's padding for SD1.5
export const CONTEXT_LENGTH = 77;
export const VOCAB_SIZE = 49408;

export class TokenizerError extends Error {
  readonly kind = 'tokenizer';
}

/** Where the vocabulary lies in a checkout: <repo>/resources/clip/bpe_simple_vocab_16e6.txt.gz. */
export function defaultVocabPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'resources', 'clip', 'bpe_simple_vocab_16e6.txt.gz');
}

/** GPT-2/CLIP byte -> printable character map: printable Latin-1 bytes stay, the rest move to U+0100... */
function bytesToUnicode(): string[] {
  const table = new Array<string>(256);
  const kept = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) kept.add(b);
  for (let b = 0xa1; b <= 0xac; b++) kept.add(b);
  for (let b = 0xae; b <= 0xff; b++) kept.add(b);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(kept.has(b) ? b : 256 + n++);
  return table;
}

/** The byte encoder's characters in vocabulary order (kept bytes first, then the moved ones). */
function byteAlphabet(): string[] {
  const table = bytesToUnicode();
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const kept = new Set(order);
  for (let b = 0; b < 256; b++) if (!kept.has(b)) order.push(b);
  return order.map((b) => table[b]);
}

// Python's str.isspace() set, so `\s` means what it means in CLIP's Python code (JS adds U+FEFF, drops 1C-1F).
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WHITESPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'gu');
const TRIM = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');
// CLIP's pattern (regex module, IGNORECASE): special tokens, English contractions, letter runs, single
// digits, runs of anything else that is not space.
const SPLIT = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_SPACE}\\p{L}\\p{N}]+`,
  'giu',
);

/** basic_clean + whitespace_clean + lower, as CLIP's encode() applies them. */
export function cleanText(text: string): string {
  const unescaped = unescapeHtml(unescapeHtml(text)).replace(TRIM, '');
  return unescaped.replace(WHITESPACE_RUN, ' ').replace(TRIM, '').toLowerCase();
}

export class ClipTokenizer {
  private readonly encoder = new Map<string, number>();
  private readonly decoder: string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly byteEncoder = bytesToUnicode();
  private readonly cache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();

  /** `merges` is the text of bpe_simple_vocab_16e6.txt (first line a version comment). */
  constructor(merges: string, source = 'CLIP vocabulary') {
    const lines = merges.split('\n').slice(1, 49152 - 256 - 2 + 1);
    if (lines.length !== 48894) {
      throw new TokenizerError(`${source}: expected 48894 BPE merges, found ${lines.length}`);
    }
    const vocab = byteAlphabet();
    vocab.push(...vocab.map((v) => `${v}</w>`));
    lines.forEach((line, rank) => {
      const parts = line.split(' ');
      if (parts.length !== 2) throw new TokenizerError(`${source}: merge line ${rank + 2} is not a pair`);
      this.ranks.set(`${parts[0]} ${parts[1]}`, rank);
      vocab.push(parts[0] + parts[1]);
    });
    vocab.push('<|startoftext|>', '<|endoftext|>');
    vocab.forEach((token, id) => {
      this.encoder.set(token, id);
      this.decoder.push(token);
    });
    if (vocab.length !== VOCAB_SIZE) throw new TokenizerError(`${source}: vocabulary of ${vocab.length}`);
  }

  static fromGzipFile(file: string): ClipTokenizer {
    let text: string;
    try {
      text = gunzipSync(readFileSync(file)).toString('utf8');
    } catch (err) {
      throw new TokenizerError(`${file}: cannot read the CLIP vocabulary (${(err as Error).message})`);
    }
    return new ClipTokenizer(text, file);
  }

  /** Token ids of `text` without BOS/EOS (CLIP's encode). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanText(text).matchAll(SPLIT)) ids.push(...this.encodeWord(match[0]));
    return ids;
  }

  /** openai/CLIP tokenize(): BOS, ids, EOS, padded to `contextLength` (with EOS, as SD1.5 pads); truncated
   *  to fit with EOS kept last. */
  tokenize(text: string, contextLength = CONTEXT_LENGTH): Int32Array {
    const ids = this.encode(text);
    const out = new Int32Array(contextLength).fill(EOS_TOKEN);
    out[0] = BOS_TOKEN;
    out.set(ids.slice(0, contextLength - 2), 1);
    return out;
  }

  /** Text of ids (special tokens dropped, `</w>` back to spaces); for display and debugging. */
  decode(ids: Iterable<number>): string {
    const unicodeToByte = new Map(this.byteEncoder.map((ch, b) => [ch, b]));
    const bytes: number[] = [];
    for (const id of ids) {
      if (id === BOS_TOKEN || id === EOS_TOKEN) continue;
      const token = this.decoder[id];
      if (token === undefined) throw new TokenizerError(`token id ${id} is outside the vocabulary`);
      for (const ch of token.replace(/<\/w>/g, ' ')) bytes.push(ch === ' ' ? 0x20 : (unicodeToByte.get(ch) ?? 0x3f));
    }
    return Buffer.from(bytes).toString('utf8').trim();
  }

  /** The id of one vocabulary entry (e.g. `','` is `,</w>`), or undefined. */
  tokenId(token: string): number | undefined {
    return this.encoder.get(token);
  }

  private encodeWord(word: string): number[] {
    if (word === '<|startoftext|>') return [BOS_TOKEN];
    if (word === '<|endoftext|>') return [EOS_TOKEN];
    const cached = this.cache.get(word);
    if (cached) return cached;
    let mapped = '';
    for (const b of this.utf8.encode(word)) mapped += this.byteEncoder[b];
    const ids = this.bpe(mapped).map((piece) => {
      const id = this.encoder.get(piece);
      if (id === undefined) throw new TokenizerError(`BPE produced "${piece}", which is not in the vocabulary`);
      return id;
    });
    if (this.cache.size < 50_000) this.cache.set(word, ids);
    return ids;
  }

  /** Merges the lowest-ranked adjacent pair until none is in the merge table. */
  private bpe(token: string): string[] {
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i += 1;
        }
      }
      word = merged;
    }
    return word;
  }
}

const loaded = new Map<string, ClipTokenizer>();

/** The tokenizer for `vocabPath` (default: the repo's resources/clip), read on first use and kept. */
export function getClipTokenizer(vocabPath: string = defaultVocabPath()): ClipTokenizer {
  let tokenizer = loaded.get(vocabPath);
  if (!tokenizer) {
    tokenizer = ClipTokenizer.fromGzipFile(vocabPath);
    loaded.set(vocabPath, tokenizer);
  }
  return tokenizer;
}
