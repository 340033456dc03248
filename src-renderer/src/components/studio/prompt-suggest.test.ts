import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptSuggestion, suggestAt } from './prompt-suggest.ts';

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
