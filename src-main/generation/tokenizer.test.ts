import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOS_TOKEN, EOS_TOKEN, ClipTokenizer, cleanText, defaultVocabPath, getClipTokenizer } from './tokenizer.ts';
import { unescapeHtml } from './html-unescape.ts';
import { referenceJson } from './goldens.test-support.ts';

const tokenizer = getClipTokenizer();

for (const [prompt, expected] of Object.entries(referenceJson().tokens)) {
  test(`tokenize reproduces openai/CLIP for ${JSON.stringify(prompt.slice(0, 40))}`, () => {
    assert.deepEqual([...tokenizer.tokenize(prompt)], expected);
  });
}

test('the tokenizer is loaded once per vocabulary path', () => {
  assert.equal(getClipTokenizer(defaultVocabPath()), tokenizer);
});

test('special tokens, padding and truncation', () => {
  const ids = tokenizer.tokenize('<|startoftext|>hello<|endoftext|>', 8);
  assert.deepEqual([...ids.slice(0, 1)], [BOS_TOKEN]);
  assert.equal(ids[1], BOS_TOKEN); // written specials map to their ids, as CLIP's pattern allows
  assert.equal(ids.length, 8);
  assert.equal(tokenizer.tokenize('a b c d e f g h i j', 6)[5], EOS_TOKEN);
  assert.equal(tokenizer.tokenize('a b c d e f g h i j', 6)[4], tokenizer.encode('d')[0]);
});

test('encode and decode agree on plain text', () => {
  const ids = tokenizer.encode('A Cat, sitting on a WINDOW-sill; 4k!!');
  assert.equal(tokenizer.decode(ids), 'a cat , sitting on a window - sill ; 4 k !!');
  assert.equal(tokenizer.decode(tokenizer.encode('東京 🐱')), '東京 🐱');
  assert.equal(tokenizer.tokenId(',</w>'), 267);
});

test('cleaning: HTML entities twice, Python whitespace, lowercase', () => {
  assert.equal(cleanText('  Fish &amp;amp; Chips\t\n\u3000X '), 'fish & chips x');
  assert.equal(cleanText('a\ufeffb'), 'a\ufeffb'); // not whitespace for Python
  assert.equal(unescapeHtml('&#65;&#x42;&#150;&#0;&#xD800;&#1;'), 'AB\u2013\ufffd\ufffd');
  assert.equal(unescapeHtml('&ampx &copy2 &unknown; &lt'), '&x \xa92 &unknown; <');
});

test('a broken vocabulary is refused with a typed error', () => {
  assert.throws(() => new ClipTokenizer('#version\na b\n', 'bad.txt'), (err: Error & { kind?: string }) => {
    return err.kind === 'tokenizer' && /bad\.txt/.test(err.message);
  });
  assert.throws(() => ClipTokenizer.fromGzipFile('/nonexistent/vocab.txt.gz'), /cannot read/);
});
