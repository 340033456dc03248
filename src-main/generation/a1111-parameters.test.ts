import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatParameters,
  generationInfoFromText,
  generationInfoToText,
  parseParameters,
  parseSettingsList,
  quoteValue,
  unquoteValue,
  type GenerationInfo,
} from './a1111-parameters.ts';

// As A1111 1.6 with sd-webui-controlnet writes it (Hires fix, a LoRA, a textual inversion, ControlNet canny).
const REAL = `masterpiece, best quality, (1girl:1.2), red hair,
looking at viewer, <lora:add_detail:0.6>
Negative prompt: (worst quality, low quality:1.4), easynegative
Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, Model hash: 7f96a1a9ca, Model: anything-v5, Denoising strength: 0.45, Clip skip: 2, Hires upscale: 2, Hires upscaler: R-ESRGAN 4x+ Anime6B, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1, Resize Mode: Crop and Resize, Low Vram: False, Processor Res: 512, Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 1, Pixel Perfect: False, Control Mode: Balanced", Lora hashes: "add_detail: 7c6bad76eb54", TI hashes: "easynegative: c74b4e810b03", Version: v1.6.0`;

test('parses a realistic A1111 infotext', () => {
  const info = generationInfoFromText(REAL);
  assert.equal(info.prompt, 'masterpiece, best quality, (1girl:1.2), red hair,\nlooking at viewer, <lora:add_detail:0.6>');
  assert.equal(info.negativePrompt, '(worst quality, low quality:1.4), easynegative');
  assert.deepEqual(
    [info.steps, info.sampler, info.cfgScale, info.seed, info.width, info.height],
    [25, 'DPM++ 2M Karras', 7, 1234567890, 512, 768],
  );
  assert.deepEqual([info.modelHash, info.model, info.denoisingStrength, info.clipSkip], ['7f96a1a9ca', 'anything-v5', 0.45, 2]);
  assert.equal(info.controlNets.length, 1);
  const cn = info.controlNets[0];
  assert.deepEqual([cn.module, cn.model, cn.weight, cn.guidanceStart, cn.guidanceEnd], ['canny', 'control_v11p_sd15_canny [d14c016b]', 1, 0, 1]);
  assert.equal(cn.extra.get('Resize Mode'), 'Crop and Resize');
  assert.equal(cn.extra.get('Control Mode'), 'Balanced');
  assert.deepEqual([...info.loraHashes], [['add_detail', '7c6bad76eb54']]);
  assert.equal(info.extra.get('Hires upscaler'), 'R-ESRGAN 4x+ Anime6B');
  assert.equal(info.extra.get('TI hashes'), 'easynegative: c74b4e810b03');
  assert.equal(info.extra.get('Version'), 'v1.6.0');
});

test('writes the settings line as A1111 does and reads it back', () => {
  const info: GenerationInfo = {
    prompt: 'a cat, (red hair:1.2)',
    negativePrompt: 'blurry',
    steps: 20,
    sampler: 'DPM++ 2M Karras',
    scheduleType: '',
    cfgScale: 7.5,
    seed: 1,
    width: 512,
    height: 512,
    modelHash: 'abcdef1234',
    model: 'name',
    controlNets: [{ module: 'none', model: 'x [hash]', weight: 0.8, guidanceStart: 0, guidanceEnd: 1, extra: new Map() }],
    loraHashes: new Map([['name', 'hash']]),
    extra: new Map(),
  };
  const text = generationInfoToText(info);
  assert.equal(
    text,
    'a cat, (red hair:1.2)\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1, ' +
      'Size: 512x512, Model hash: abcdef1234, Model: name, ControlNet 0: "Module: none, Model: x [hash], Weight: 0.8, ' +
      'Guidance Start: 0, Guidance End: 1", Lora hashes: "name: hash"',
  );
  assert.deepEqual(generationInfoFromText(text), info);
  // the realistic one survives a parse / write / parse round trip unchanged
  const real = generationInfoFromText(REAL);
  assert.deepEqual(generationInfoFromText(generationInfoToText(real)), real);
});

test('quoting: values with commas, colons or newlines become JSON strings', () => {
  assert.equal(quoteValue('Euler a'), 'Euler a');
  assert.equal(quoteValue('a, b'), '"a, b"');
  assert.equal(quoteValue('東京: "x"\n'), '"東京: \\"x\\"\\n"');
  assert.equal(unquoteValue(quoteValue('東京: "x"\n')), '東京: "x"\n');
  assert.equal(unquoteValue('"broken'), '"broken');
  assert.equal(unquoteValue('"\\q"'), '"\\q"'); // not valid JSON: left as written, as A1111 does
  const hashes = '{"vae": "c6a580b13a", "lora:add_detail": "7c6bad76eb"}';
  const line = `Steps: 20, Hashes: ${quoteValue(hashes)}, Seed: 3`;
  assert.deepEqual([...parseSettingsList(line)], [['Steps', '20'], ['Hashes', hashes], ['Seed', '3']]);
});

test('prompt-only texts, missing negatives, multi-line prompts and A1111 1.9 schedule types', () => {
  assert.deepEqual(parseParameters('just a prompt'), { prompt: 'just a prompt', negativePrompt: '', settings: new Map() });
  // fewer than three settings on the last line: it is still prompt text
  assert.equal(parseParameters('line one\nSteps: 20, Seed: 1').prompt, 'line one\nSteps: 20, Seed: 1');
  const v19 = generationInfoFromText('cat\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 7, Size: 640x448');
  assert.deepEqual([v19.sampler, v19.scheduleType, v19.width, v19.height, v19.negativePrompt], ['DPM++ 2M', 'Karras', 640, 448, '']);
  assert.equal(generationInfoToText(v19), 'cat\nSteps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 7, Size: 640x448');
  const flags = formatParameters({ prompt: 'p', negativePrompt: '', settings: new Map([['Tiling', 'Tiling'], ['Steps', '4']]) });
  assert.equal(flags, 'p\nTiling, Steps: 4');
  const defaults = generationInfoFromText('cat');
  assert.deepEqual([defaults.steps, defaults.sampler, defaults.cfgScale, defaults.width], [20, 'Euler a', 7, 512]);
});

test('LoRA names lose the characters that would break the list', () => {
  const info = generationInfoFromText('cat\nSteps: 1, Seed: 2, Size: 8x8');
  info.loraHashes = new Map([['odd: name, v2', 'abc']]);
  assert.deepEqual([...generationInfoFromText(generationInfoToText(info)).loraHashes], [['odd name v2', 'abc']]);
});
