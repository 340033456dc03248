import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptSuggestion, suggestAt, suggestWithLoras } from './prompt-suggest.ts';

const names = ['EasyNegative', 'easy_photo', 'badhandv4', 'bad_prompt_version2', 'ng_deepnegative_v1_75t'];

test('the word before the caret is completed from the embedding names, ignoring case', () => {
  const text = 'blurry, (easyn';
  const s = suggestAt(text, text.length, names)!;
  assert.deepEqual(s, { from: 9, to: 14, names: ['EasyNegative'] });
  assert.deepEqual(acceptSuggestion(text, s, 'EasyNegative'), { text: 'blurry, (EasyNegative', caret: 21 });
  assert.deepEqual(suggestAt('bad', 3, names)?.names, ['badhandv4', 'bad_prompt_version2']);
});

test('nothing is offered for one character, a finished name or an unknown word; text after the caret stays', () => {
  assert.equal(suggestAt('b', 1, names), null);
  assert.equal(suggestAt('badhandv4', 9, names), null);
  assert.equal(suggestAt('a cat', 5, names), null);
  const text = 'ng_d, a cat';
  const s = suggestAt(text, 4, names)!;
  assert.deepEqual(acceptSuggestion(text, s, s.names[0]), { text: 'ng_deepnegative_v1_75t, a cat', caret: 22 });
});

test('a region prompt is offered LoRA tags too: inside an open <lora: or for a word that starts a LoRA name', () => {
  const loras = ['fire-dragon', 'Film_grain', 'detail-tweaker'];
  const open = 'a dragon <lora:fi';
  const s = suggestWithLoras(open, open.length, names, loras)!;
  assert.deepEqual(s, { from: 9, to: 17, names: ['<lora:fire-dragon:1>', '<lora:Film_grain:1>'] });
  assert.deepEqual(acceptSuggestion(open, s, s.names[0]), { text: 'a dragon <lora:fire-dragon:1>', caret: 29 });
  assert.deepEqual(suggestWithLoras('a <lora:', 8, names, loras)?.names, ['<lora:fire-dragon:1>', '<lora:Film_grain:1>', '<lora:detail-tweaker:1>']);
  assert.equal(suggestWithLoras('a <lora:zz', 10, names, loras), null);
  const word = 'scales, det';
  assert.deepEqual(suggestWithLoras(word, word.length, names, loras), { from: 8, to: 11, names: ['<lora:detail-tweaker:1>'] });
  assert.deepEqual(suggestWithLoras('blurry, easyn', 13, names, loras)?.names, ['EasyNegative'], 'embeddings as in the main prompt');
  assert.equal(suggestWithLoras('a cat', 5, names, loras), null);
});
