import { test } from 'node:test';
import assert from 'node:assert/strict';
import { highlightPrompt, weightClass } from './prompt-highlight.ts';

const kinds = (p: string) => highlightPrompt(p).map((r) => `${r.kind}:${r.text}`);
const weightOf = (p: string, word: string) => highlightPrompt(p).find((r) => r.kind === 'text' && r.text.includes(word))?.weight;

test('plain text is one run of weight 1', () => {
  assert.deepEqual(highlightPrompt('a cat on a mat'), [{ kind: 'text', text: 'a cat on a mat', weight: 1 }]);
});

test('explicit weights set the weight of the bracketed words', () => {
  assert.deepEqual(kinds('a (red cat:1.3), b'), ['text:a ', 'bracket:(', 'text:red cat', 'weight::1.3', 'bracket:)', 'text:, b']);
  assert.ok(Math.abs(weightOf('a (red cat:1.3), b', 'red')! - 1.3) < 1e-9);
});

test('round brackets multiply by 1.1, square ones divide, nesting multiplies', () => {
  assert.ok(Math.abs(weightOf('((cat))', 'cat')! - 1.21) < 1e-9);
  assert.ok(Math.abs(weightOf('[cat]', 'cat')! - 1 / 1.1) < 1e-9);
  assert.ok(Math.abs(weightOf('((cat:1.5))', 'cat')! - 1.65) < 1e-9);
  assert.equal(weightClass(weightOf('[cat]', 'cat')!), 'weak');
  assert.equal(weightClass(weightOf('(cat)', 'cat')!), 'strong');
});

test('BREAK, LoRA tags and escapes are runs of their own', () => {
  assert.deepEqual(kinds('a BREAK b <lora:style:0.8> \\(c\\)'), ['text:a ', 'break:BREAK', 'text: b ', 'lora:<lora:style:0.8>', 'text: ', 'escape:\\(', 'text:c', 'escape:\\)']);
  assert.deepEqual(kinds('BREAKFAST'), ['text:BREAKFAST']);
});

test('unbalanced brackets are marked', () => {
  assert.deepEqual(kinds('a (cat'), ['text:a ', 'unbalanced:(', 'text:cat']);
  assert.deepEqual(kinds('cat]'), ['text:cat', 'unbalanced:]']);
});

test('the runs put back together are the prompt', () => {
  const p = 'masterpiece, (a (tall:1.2) tower:0.9) [fog] BREAK <lora:x:1> \\[y\\] : end';
  assert.equal(highlightPrompt(p).map((r) => r.text).join(''), p);
});

test('prompt editing and alternation: their brackets, separators and step are schedule runs; their words keep weight 1', () => {
  assert.deepEqual(kinds('a [cat:dog:0.5] b'), ['text:a ', 'schedule:[', 'text:cat', 'schedule::', 'text:dog', 'schedule::0.5]', 'text: b']);
  assert.deepEqual(kinds('[red|green|blue]'), ['schedule:[', 'text:red', 'schedule:|', 'text:green', 'schedule:|', 'text:blue', 'schedule:]']);
  assert.equal(weightOf('[cat:dog:0.5]', 'dog'), 1);
  // emphasis inside an edit still counts, and a plain [word] around one still de-emphasises
  assert.ok(Math.abs(weightOf('[(cat:1.3):dog: 4 ]', 'cat')! - 1.3) < 1e-9);
  assert.ok(Math.abs(weightOf('[[cat|dog] fur]', 'fur')! - 1 / 1.1) < 1e-9);
  assert.deepEqual(kinds('[x::3]'), ['schedule:[', 'text:x', 'schedule:::3]']);
  // a schedule that does not parse is not highlighted as one (the editor names the problem instead)
  assert.ok(!kinds('[cat|dog').some((k) => k.startsWith('schedule')));
});
