// The PNG's A1111 `parameters` text carries the prompt as typed, prompt editing included (A1111 writes
// p.all_prompts, the text before scheduling), so reading a picture back reproduces its schedule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationSettings } from '../common/generation-contract.ts';
import { infotextToSettings, settingsToInfotext } from './infotext.ts';
import { encodePng, readPngText } from '../formats/png.ts';
import { promptSchedule } from '../common/prompt-schedule.ts';
import { a1111Read, hasA1111Reader } from './a1111-reader.test-support.ts';

const base: GenerationSettings = {
  prompt: '',
  negative: '',
  width: 512,
  height: 512,
  steps: 30,
  cfg: 7,
  seed: 42,
  sampler: 'dpmpp_2m_karras',
  clipSkip: 1,
  checkpoint: { id: 1, name: 'dreamshaper_8', hash: '879db523c3', path: '/m/dreamshaper_8.safetensors' },
  controls: [],
  loras: [{ model: { id: 2, name: 'add_detail', hash: '7c6bad76eb54', path: '/m/add_detail.safetensors' }, weight: 0.6 }],
  denoisingStrength: null,
  initResizeMode: null,
  inpaint: false,
  batchSize: 1,
  batchCount: 1,
  batchIndex: 0,
};

/** The prompt and negative prompt as A1111's own reader (ported to test/support) takes them from the text. */
function a1111Reads(text: string): { Prompt: string; 'Negative prompt': string } | null {
  return hasA1111Reader ? (a1111Read(text).params as { Prompt: string; 'Negative prompt': string }) : null; // null: no python3 here
}

const PROMPTS: [string, string][] = [
  ['a [mountain:lake:0.25] at [dawn|dusk|night], (masterpiece:1.2)', '[blurry::10], lowres'],
  ['[(red:1.3) fox:a [white:grey:0.5] wolf:12] BREAK snow, \\[title\\]', 'worst quality, [bad hands:0.4]'],
  ['portrait, [fe|]male, ((detailed eyes))\nsecond line [x:y: 5 ]', ''],
];

for (const [prompt, negative] of PROMPTS) {
  test(`PNG metadata round-trips the schedule of ${JSON.stringify(prompt).slice(0, 40)}…`, () => {
    const settings = { ...base, prompt, negative };
    const png = encodePng({ width: 1, height: 1, channels: 3, data: Uint8Array.of(1, 2, 3) }, { parameters: settingsToInfotext(settings) });
    const text = readPngText(png).parameters;
    assert.ok(text.startsWith(`${prompt} <lora:add_detail:0.6>\n${negative ? `Negative prompt: ${negative}\n` : ''}Steps: 30`), text);
    const read = infotextToSettings(text);
    assert.equal(read.prompt, prompt);
    assert.equal(read.negative, negative);
    assert.equal(read.steps, 30);
    assert.deepEqual(promptSchedule(read.prompt, read.steps), promptSchedule(prompt, 30));
    assert.deepEqual(promptSchedule(read.negative, read.steps), promptSchedule(negative, 30));
    assert.ok(promptSchedule(prompt, 30).length > 1, 'the prompt is scheduled');
    const a1111 = a1111Reads(text);
    if (a1111) {
      assert.equal(a1111.Prompt, `${prompt} <lora:add_detail:0.6>`);
      assert.equal(a1111['Negative prompt'], negative);
    }
  });
}
