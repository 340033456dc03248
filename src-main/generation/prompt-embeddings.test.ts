// Where embedding vectors land in the 75-token chunks, following A1111's tokenize_line: one placeholder per
// vector, weights as for words, an embedding that does not fit in a chunk starts the next one, the longest
// matching name wins, and names match whatever their case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMBEDDING_PLACEHOLDER_TOKEN, EmbeddingLookup } from './prompt-embeddings.ts';
import { CHUNK_TOKENS, tokenizeWeightedPrompt } from './prompt-syntax.ts';
import { BOS_TOKEN, EOS_TOKEN, getClipTokenizer } from './tokenizer.ts';

const tokenizer = getClipTokenizer();
const lookup = (...e: { name: string; count: number }[]) => new EmbeddingLookup(e, tokenizer);

test('an embedding fills one position per vector with the weight of its words', () => {
  const easy = { name: 'EasyNegative', count: 8 };
  const { chunks, tokenCount } = tokenizeWeightedPrompt('ugly, (easynegative:1.2), blurry', tokenizer, { embeddings: lookup(easy) });
  const ugly = tokenizer.encode('ugly,');
  const c = chunks[0];
  assert.equal(chunks.length, 1);
  assert.deepEqual(c.fixes, [{ offset: ugly.length, embedding: easy }]);
  const start = 1 + ugly.length;
  assert.deepEqual([...c.ids.subarray(start, start + 8)], new Array(8).fill(EMBEDDING_PLACEHOLDER_TOKEN));
  assert.deepEqual([...c.weights.subarray(start, start + 8)].map((w) => Math.round(w * 1e6) / 1e6), new Array(8).fill(1.2));
  const tail = tokenizer.encode(', blurry');
  assert.deepEqual([...c.ids.subarray(start + 8, start + 8 + tail.length)], tail);
  assert.equal(tokenCount, ugly.length + 8 + tail.length);
});

test('an embedding that would straddle the 75-token boundary starts the next chunk', () => {
  const words = Array.from({ length: 72 }, () => 'cat').join(' '); // 72 tokens, no comma
  const emb = { name: 'fourvec', count: 4 };
  const { chunks } = tokenizeWeightedPrompt(`${words} fourvec`, tokenizer, { embeddings: lookup(emb) });
  assert.equal(chunks.length, 2);
  assert.equal(chunks[0].fixes, undefined);
  assert.deepEqual([...chunks[0].ids.subarray(73, 77)], [EOS_TOKEN, EOS_TOKEN, EOS_TOKEN, EOS_TOKEN]); // padded
  assert.deepEqual(chunks[1].fixes, [{ offset: 0, embedding: emb }]);
  assert.deepEqual([...chunks[1].ids.subarray(0, 6)], [BOS_TOKEN, 0, 0, 0, 0, EOS_TOKEN]);
  // exactly fitting: 71 words + 4 vectors = 75 stays in one chunk
  const fits = tokenizeWeightedPrompt(`${Array.from({ length: 71 }, () => 'cat').join(' ')} fourvec`, tokenizer, { embeddings: lookup(emb) });
  assert.equal(fits.chunks.length, 1);
  assert.deepEqual(fits.chunks[0].fixes, [{ offset: 71, embedding: emb }]);
  assert.equal(CHUNK_TOKENS, 75);
});

test('the longest matching name wins; a name inside a longer word is not an embedding', () => {
  const short = { name: 'bad_hands', count: 1 };
  const long = { name: 'bad_hands_v2', count: 2 };
  const { chunks } = tokenizeWeightedPrompt('bad_hands_v2 and bad_hands', tokenizer, { embeddings: lookup(short, long) });
  assert.deepEqual(chunks[0].fixes?.map((f) => [f.offset, f.embedding.name]), [
    [0, 'bad_hands_v2'],
    [2 + tokenizer.encode('and').length, 'bad_hands'],
  ]);
  const none = tokenizeWeightedPrompt('cats', tokenizer, { embeddings: lookup({ name: 'cat', count: 1 }) });
  assert.equal(none.chunks[0].fixes, undefined);
});

test('without embeddings, or with none named, the chunks are as before', () => {
  const text = 'a (red:1.3) car, BREAK a road';
  const before = tokenizeWeightedPrompt(text, tokenizer);
  const after = tokenizeWeightedPrompt(text, tokenizer, { embeddings: lookup({ name: 'EasyNegative', count: 8 }) });
  assert.deepEqual(after, before);
});
