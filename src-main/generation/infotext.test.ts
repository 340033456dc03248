import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationSettings } from '../common/generation-contract.ts';
import { infotextToSettings, safeName, settingsToInfotext, splitModelLabel } from './infotext.ts';

const model = (name: string, hash: string) => ({ id: 1, name, hash, path: `/m/${name}.safetensors` });

const SETTINGS: GenerationSettings = {
  prompt: 'a red fox, (snow:1.2)',
  negative: 'blurry, lowres',
  width: 512,
  height: 768,
  steps: 25,
  cfg: 7.5,
  seed: 3_000_000_000,
  sampler: 'dpmpp_2m_karras',
  clipSkip: 2,
  checkpoint: model('dreamshaper_8', '879db523c3'),
  controls: [
    { kind: 'controlnet', model: model('control_v11p_sd15_canny', 'd14c016b'), base: null, weight: 1, start: 0, end: 1, resizeMode: 'crop-and-resize' },
    { kind: 'ctrlora', model: model('ctrlora_sd15_depth', '1234abcd'), base: model('ctrlora_sd15_basecn700k', '9876fedc'), weight: 0.5, start: 0.1, end: 0.9, resizeMode: 'just-resize' },
    { kind: 'controlnet', model: model('control, odd: name', 'aaaa0000'), base: null, weight: 0.6, start: 0, end: 0.5, resizeMode: 'resize-and-fill' },
    { kind: 'cnxs', model: model('cnxs_sd15_canny', '0f0f0f0f'), base: null, weight: 0.95, start: 0, end: 1, resizeMode: 'crop-and-resize' },
  ],
  loras: [
    { model: model('add_detail', '7c6bad76eb54'), weight: 0.6 },
    { model: model('film grain', 'ab12cd34ef56'), weight: 1 },
  ],
  denoisingStrength: null,
  initResizeMode: null,
  inpaint: false,
  batchSize: 1,
  batchCount: 1,
  batchIndex: 0,
};

test('writes A1111 parameters: LoRA tags in the prompt, ControlNet units, CtrLoRA and ControlNet-XS alike', () => {
  const text = settingsToInfotext(SETTINGS);
  const [prompt, negative, line] = text.split('\n');
  assert.equal(prompt, 'a red fox, (snow:1.2) <lora:add_detail:0.6> <lora:film grain:1>');
  assert.equal(negative, 'Negative prompt: blurry, lowres');
  assert.match(line, /^Steps: 25, Sampler: DPM\+\+ 2M Karras, CFG scale: 7.5, Seed: 3000000000, Size: 512x768, Model hash: 879db523c3, Model: dreamshaper_8, Clip skip: 2, /);
  assert.match(line, /ControlNet 0: "Module: none, Model: control_v11p_sd15_canny \[d14c016b\], Weight: 1, Guidance Start: 0, Guidance End: 1, Resize Mode: Crop and Resize"/);
  assert.match(line, /ControlNet 1: "Module: none, Model: control odd name \[aaaa0000\], Weight: 0.6, Guidance Start: 0, Guidance End: 0.5, Resize Mode: Resize and Fill"/);
  assert.match(line, /CtrLoRA 0: "Base: ctrlora_sd15_basecn700k \[9876fedc\], Model: ctrlora_sd15_depth \[1234abcd\], Weight: 0.5, Guidance Start: 0.1, Guidance End: 0.9, Resize Mode: Just Resize"/);
  assert.match(line, /ControlNet-XS 0: "Module: none, Model: cnxs_sd15_canny \[0f0f0f0f\], Weight: 0.95,/);
  assert.match(line, /Lora hashes: "add_detail: 7c6bad76eb54, film grain: ab12cd34ef56"/);
});

test('reads back what it wrote', () => {
  const read = infotextToSettings(settingsToInfotext({ ...SETTINGS, denoisingStrength: 0.45 }));
  assert.equal(read.prompt, SETTINGS.prompt);
  assert.equal(read.negative, SETTINGS.negative);
  assert.deepEqual(
    [read.steps, read.cfg, read.seed, read.width, read.height, read.clipSkip, read.sampler, read.samplerA1111, read.denoisingStrength],
    [25, 7.5, 3_000_000_000, 512, 768, 2, 'dpmpp_2m_karras', 'DPM++ 2M Karras', 0.45],
  );
  assert.deepEqual(read.checkpoint, { name: 'dreamshaper_8', hash: '879db523c3', id: null });
  assert.deepEqual(
    read.loras.map((l) => [l.model.name, l.model.hash, l.weight]),
    [['add_detail', '7c6bad76eb54', 0.6], ['film grain', 'ab12cd34ef56', 1]],
  );
  assert.deepEqual(
    read.controls.map((c) => [c.kind, c.model.name, c.model.hash, c.base?.name ?? null, c.weight, c.start, c.end, c.resizeMode]),
    [
      ['controlnet', 'control_v11p_sd15_canny', 'd14c016b', null, 1, 0, 1, 'crop-and-resize'],
      ['controlnet', 'control odd name', 'aaaa0000', null, 0.6, 0, 0.5, 'resize-and-fill'],
      ['ctrlora', 'ctrlora_sd15_depth', '1234abcd', 'ctrlora_sd15_basecn700k', 0.5, 0.1, 0.9, 'just-resize'],
      ['cnxs', 'cnxs_sd15_canny', '0f0f0f0f', null, 0.95, 0, 1, 'crop-and-resize'],
    ],
  );
});

test("reads A1111's own text (v1.9 schedule type, LoRA tags mid-prompt, no clip skip)", () => {
  const text = `best quality, <lora:add_detail:0.6>, 1girl
Negative prompt: easynegative
Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6, Seed: 7, Size: 640x512, Model hash: 7f96a1a9ca, Model: anything-v5, Lora hashes: "add_detail: 7c6bad76eb54", Version: v1.9.4`;
  const read = infotextToSettings(text);
  assert.equal(read.prompt, 'best quality, , 1girl');
  assert.deepEqual([read.sampler, read.clipSkip, read.width, read.height], ['dpmpp_2m_karras', 1, 640, 512]);
  assert.deepEqual(read.loras, [{ model: { name: 'add_detail', hash: '7c6bad76eb54', id: null }, weight: 0.6 }]);
});

test('names and labels', () => {
  assert.equal(safeName('a, b: c'), 'a b c');
  assert.equal(safeName('de\rtail\u2028lo\x85ra\tx\u0000'), 'detaillorax');
  assert.equal(safeName('\r\n'), 'model');
  assert.deepEqual(splitModelLabel('control_v11p_sd15_canny [d14c016b]'), { name: 'control_v11p_sd15_canny', hash: 'd14c016b' });
  assert.deepEqual(splitModelLabel('no hash'), { name: 'no hash', hash: '' });
});

test('a LoRA file name with a carriage return: its tag and its hash still read back together', () => {
  const settings = { ...SETTINGS, loras: [{ model: model('detail\rboost', '0123456789ab'), weight: 0.5 }] };
  const text = settingsToInfotext(settings);
  assert.doesNotMatch(text, /\r/);
  assert.match(text, /Lora hashes: "detailboost: 0123456789ab"/);
  const read = infotextToSettings(text);
  assert.deepEqual(read.loras.map((l) => [l.model.name, l.model.hash, l.weight]), [['detailboost', '0123456789ab', 0.5]]);
});
