import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyEmphasis,
  emptyChunk,
  padChunkLists,
  parsePromptAttention,
  stackChunks,
  tokenizeWeightedPrompt,
} from './prompt-syntax.ts';
import { BOS_TOKEN, EOS_TOKEN, getClipTokenizer } from './tokenizer.ts';
import { referenceJson } from './goldens.test-support.ts';

const tokenizer = getClipTokenizer();
const pairs = (text: string): [string, number][] => parsePromptAttention(text).map((p) => [p.text, p.weight]);

test("parse_prompt_attention's documented examples", () => {
  assert.deepEqual(pairs('normal text'), [['normal text', 1.0]]);
  assert.deepEqual(pairs('an (important) word'), [['an ', 1.0], ['important', 1.1], [' word', 1.0]]);
  assert.deepEqual(pairs('(unbalanced'), [['unbalanced', 1.1]]);
  assert.deepEqual(pairs('\\(literal\\]'), [['(literal]', 1.0]]);
  assert.deepEqual(pairs('(unnecessary)(parens)'), [['unnecessaryparens', 1.1]]);
  assert.deepEqual(pairs('a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).'), [
    ['a ', 1.0],
    ['house', 1.5730000000000004],
    [' ', 1.1],
    ['on', 1.0],
    [' a ', 1.1],
    ['hill', 0.55],
    [', sun, ', 1.1],
    ['sky', 1.4641000000000006],
    ['.', 1.1],
  ]);
  assert.deepEqual(pairs(''), [['', 1.0]]);
});

test('square brackets, explicit weights, stray closers and BREAK', () => {
  assert.deepEqual(pairs('[dim]'), [['dim', 1 / 1.1]]);
  assert.deepEqual(pairs('(red hair:1.2), x'), [['red hair', 1.2], [', x', 1.0]]);
  assert.deepEqual(pairs('a:1.5) b] c)'), [['a:1.5) b] c)', 1.0]]);
  assert.deepEqual(pairs('cat BREAK dog'), [['cat', 1.0], ['BREAK', -1], ['dog', 1.0]]);
  assert.deepEqual(pairs('BREAKFAST'), [['BREAKFAST', 1.0]]);
  assert.deepEqual(pairs('a \\\\ b'), [['a \\ b', 1.0]]);
});

test('a plain prompt tokenizes as openai/CLIP does', () => {
  for (const prompt of ['a photograph of an astronaut riding a horse', '']) {
    const { chunks } = tokenizeWeightedPrompt(prompt, tokenizer);
    assert.equal(chunks.length, 1);
    assert.deepEqual([...chunks[0].ids], referenceJson().tokens[prompt]);
    assert.ok(chunks[0].weights.every((w) => w === 1));
  }
});

test('weights follow their tokens', () => {
  const { chunks } = tokenizeWeightedPrompt('masterpiece, (red hair:1.2), [cloudy] sky', tokenizer);
  const ids = [...chunks[0].ids];
  const weights = [...chunks[0].weights];
  const red = ids.indexOf(tokenizer.encode('red')[0]);
  assert.equal(weights[red], Math.fround(1.2));
  assert.equal(weights[red + 1], Math.fround(1.2)); // hair
  const cloudy = ids.indexOf(tokenizer.encode('cloudy')[0]);
  assert.equal(weights[cloudy], Math.fround(1 / 1.1));
  assert.equal(weights[0], 1);
  assert.equal(weights[ids.indexOf(tokenizer.encode('sky')[0])], 1);
  // brackets are syntax, not tokens
  assert.deepEqual(
    ids.slice(1, ids.indexOf(EOS_TOKEN)),
    tokenizer.encode('masterpiece, red hair, cloudy sky'),
  );
});

test('long prompts become chunks of 75 tokens wrapped in BOS/EOS', () => {
  const prompt = Object.keys(referenceJson().tokens).find((p) => p.startsWith('word word'))!;
  const { chunks, tokenCount } = tokenizeWeightedPrompt(prompt, tokenizer);
  assert.equal(chunks.length, 2);
  assert.deepEqual([...chunks[0].ids], referenceJson().tokens[prompt]);
  assert.equal(chunks[1].ids[0], BOS_TOKEN);
  assert.equal(chunks[1].ids.filter((id) => id === 2653).length, 25);
  assert.equal(chunks[1].ids[26], EOS_TOKEN);
  assert.equal(tokenCount, 100);
});

test('a full chunk moves the words after its last comma (within 20 tokens) to the next chunk', () => {
  const prompt = `${Array(70).fill('word').join(' ')}, ${Array(10).fill('cat').join(' ')}`;
  const cat = tokenizer.encode('cat')[0];
  const moved = tokenizeWeightedPrompt(prompt, tokenizer);
  assert.equal(moved.chunks.length, 2);
  assert.equal(moved.chunks[0].ids[71], 267); // the comma ends chunk 0
  assert.equal(moved.chunks[0].ids[72], EOS_TOKEN);
  assert.equal(moved.chunks[1].ids.filter((id) => id === cat).length, 10);
  assert.equal(moved.tokenCount, 75 + 10);
  const plain = tokenizeWeightedPrompt(prompt, tokenizer, { commaBacktrack: 0 });
  assert.equal(plain.chunks[0].ids[75], cat);
  assert.equal(plain.chunks[1].ids.filter((id) => id === cat).length, 6);
  // a comma further back than 20 tokens does not move anything
  const far = `${Array(50).fill('word').join(' ')}, ${Array(30).fill('cat').join(' ')}`;
  assert.equal(tokenizeWeightedPrompt(far, tokenizer).chunks[0].ids[75], cat);
});

test('BREAK closes the chunk early', () => {
  const { chunks, tokenCount } = tokenizeWeightedPrompt('red cat BREAK blue dog', tokenizer);
  assert.equal(chunks.length, 2);
  assert.deepEqual([...chunks[0].ids.slice(0, 4)], [BOS_TOKEN, ...tokenizer.encode('red cat'), EOS_TOKEN]);
  assert.deepEqual([...chunks[1].ids.slice(0, 4)], [BOS_TOKEN, ...tokenizer.encode('blue dog'), EOS_TOKEN]);
  assert.equal(tokenCount, 75 + 2);
  const literal = tokenizeWeightedPrompt('(red) cat', tokenizer, { emphasis: false });
  assert.deepEqual([...literal.chunks[0].ids.slice(1, 5)], tokenizer.encode('(red) cat'));
});

test('chunk lists pad with empty chunks and stack to [chunks, 77]', () => {
  const a = tokenizeWeightedPrompt('word '.repeat(80), tokenizer).chunks;
  const b = tokenizeWeightedPrompt('', tokenizer).chunks;
  const [pa, pb] = padChunkLists(a, b);
  assert.equal(pa.length, 2);
  assert.equal(pb.length, 2);
  assert.deepEqual(pb[1], emptyChunk());
  const stacked = stackChunks(pa);
  assert.equal(stacked.ids.length, 154);
  assert.equal(stacked.ids[77], BOS_TOKEN);
});

test('emphasis scales tokens by their weight and restores each chunk mean', () => {
  const width = 3;
  const hidden = new Float32Array(2 * 77 * width); // [2, 77, 3]
  for (let i = 0; i < hidden.length; i++) hidden[i] = 0.5 + ((i * 7) % 11) / 10;
  const weights = new Float32Array(2 * 77).fill(1); // [2, 77]
  weights[5] = 1.5;
  weights[6] = 0.5;
  const out = applyEmphasis(hidden, weights, width);
  const chunkSize = 77 * width;
  for (let c = 0; c < 2; c++) {
    let before = 0;
    let after = 0;
    for (let k = c * chunkSize; k < (c + 1) * chunkSize; k++) {
      before += hidden[k];
      after += out[k];
    }
    assert.ok(Math.abs(after - before) / before < 1e-6, `chunk ${c} mean kept`);
  }
  // chunk 1 has all weights 1: unchanged
  for (let k = chunkSize; k < 2 * chunkSize; k++) assert.ok(Math.abs(out[k] - hidden[k]) < 1e-6);
  // in chunk 0 token 5 vs token 4 differ by the weight ratio
  const ratio = out[5 * width] / hidden[5 * width] / (out[4 * width] / hidden[4 * width]);
  assert.ok(Math.abs(ratio - 1.5) < 1e-6);
  const noNorm = applyEmphasis(hidden, weights, width, 'no-norm');
  assert.equal(noNorm[6 * width], Math.fround(hidden[6 * width] * 0.5));
  assert.deepEqual(applyEmphasis(hidden, weights, width, 'ignore'), hidden);
  assert.throws(() => applyEmphasis(hidden, weights, 4), /expected \[chunks, 77, 4\]/);
});
