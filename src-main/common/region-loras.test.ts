import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loraTagsIn, withoutLoraTags } from './region-loras.ts';

test('A1111 <lora:name:weight> tags in a prompt: names, weights (1 when left out), and the text without them', () => {
  assert.deepEqual(loraTagsIn('a dragon <lora:fire-v2:0.8>, scales <LORA:detail> <lora:slider:-1.5>', 'r'), [
    { name: 'fire-v2', weight: 0.8 },
    { name: 'detail', weight: 1 },
    { name: 'slider', weight: -1.5 },
  ]);
  assert.equal(withoutLoraTags('a dragon <lora:fire-v2:0.8>, scales <lora:detail>'), 'a dragon , scales '); // as A1111: only the tags go
  assert.equal(withoutLoraTags('a (dragon:1.2) [castle:forest:0.5]'), 'a (dragon:1.2) [castle:forest:0.5]', 'no tag: the text unchanged');
  assert.throws(() => loraTagsIn('<lora::1>', 'region 1'), /region 1: <lora::1> names no LoRA/);
  assert.throws(() => loraTagsIn('<lora:x:2.5>', 'region 1'), /the weight in <lora:x:2\.5> must be a number from -2 to 2/);
  assert.throws(() => loraTagsIn('<lora:x:>', 'region 1'), /the weight in <lora:x:>/);
});
