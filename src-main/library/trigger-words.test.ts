import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frequentTags, triggerWords } from './trigger-words.ts';

test('ss_tag_frequency: counts summed over datasets, most frequent first, ties in written order, top 10', () => {
  const frequency = {
    '10_sks dog': { 'sks dog': 10, grass: 3, dog: 10 },
    '5_other': { grass: 8, sky: 1 },
  };
  assert.deepEqual(frequentTags(JSON.stringify(frequency)), ['grass', 'sks dog', 'dog', 'sky']);

  const many = { set: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`tag${i}`, 100 - i])) };
  assert.deepEqual(frequentTags(JSON.stringify(many)), Array.from({ length: 10 }, (_, i) => `tag${i}`));
});

test('explicit trigger words lead, then frequent tags; duplicates dropped case-insensitively', () => {
  assert.deepEqual(
    triggerWords({
      ss_trigger_words: '["sks", "Dog"]',
      'modelspec.trigger_phrase': 'sks, painterly style',
      ss_tag_frequency: JSON.stringify({ a: { dog: 4, outdoors: 2 } }),
    }),
    ['sks', 'Dog', 'painterly style', 'outdoors'],
  );
  assert.deepEqual(triggerWords({ ss_trigger_words: 'one,  two  ,,three' }), ['one', 'two', 'three']);
});

test('hostile or malformed metadata never throws', () => {
  assert.deepEqual(triggerWords({}), []);
  assert.deepEqual(triggerWords({ ss_tag_frequency: 'not json' }), []);
  assert.deepEqual(triggerWords({ ss_tag_frequency: '[1, 2]' }), []);
  assert.deepEqual(triggerWords({ ss_tag_frequency: '{"a": {"x": "many", "y": 2}, "b": 7}' }), ['y']);
  assert.deepEqual(triggerWords({ ss_trigger_words: '[1, "ok", null]' }), ['ok']);
  assert.deepEqual(triggerWords({ ss_trigger_words: 'x'.repeat(500) }), []);
});
