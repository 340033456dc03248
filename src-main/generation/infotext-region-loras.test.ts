// "Lora hashes" lists the LoRAs tied to regions too, as A1111 with Regional Prompter does (its one prompt holds
// every region's `<lora:...>` tags, so its Lora hashes names them all). Checked through the real writer and reader,
// and through A1111's own "Lora hashes" parsing (Python port, test/support/a1111_infotext.py) when python3 exists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationSettings } from '../common/generation-contract.ts';
import { generationInfoFromText } from './a1111-parameters.ts';
import { infotextToSettings, settingsToInfotext } from './infotext.ts';
import { a1111Read, hasA1111Reader, NO_A1111_READER } from './a1111-reader.test-support.ts';

const model = (name: string, hash: string) => ({ id: null, name, hash, path: `/loras/${name}.safetensors` });
const region = (prompt: string) => ({ prompt, maskPngBase64: '', feather: 0, appendMain: false });

const SETTINGS: GenerationSettings = {
  prompt: 'a castle on a hill',
  negative: 'blurry',
  width: 512,
  height: 512,
  steps: 20,
  cfg: 7,
  seed: 1,
  sampler: 'euler_a',
  clipSkip: 1,
  checkpoint: { id: null, name: 'sd15', hash: '0123456789', path: '/m/sd15.safetensors' },
  controls: [],
  loras: [{ model: model('add_detail', '7c6bad76eb54'), weight: 0.6 }],
  denoisingStrength: null,
  initResizeMode: null,
  inpaint: false,
  batchSize: 1,
  batchCount: 1,
  batchIndex: 0,
  regions: [region('a dragon <lora:dragon_v2:0.8> <lora:add_detail:1>'), region('plain sky'), region('a knight <lora:dragon_v2:0.3> <lora:armor, shiny:1>')],
  regionLoras: [
    [{ model: model('dragon_v2', 'aaaa11112222'), weight: 0.8 }, { model: model('add_detail', '7c6bad76eb54'), weight: 1 }],
    [],
    [{ model: model('dragon_v2', 'aaaa11112222'), weight: 0.3 }, { model: model('armor, shiny', 'bbbb33334444'), weight: 1 }],
  ],
};

test("Lora hashes names the main prompt's LoRAs and each region's, each name once, in the order they come", () => {
  const text = settingsToInfotext(SETTINGS);
  // A1111 strips ':' and ',' from names in the list, as for the main prompt's LoRAs
  assert.match(text, /Lora hashes: "add_detail: 7c6bad76eb54, dragon_v2: aaaa11112222, armor shiny: bbbb33334444"/);
  const info = generationInfoFromText(text);
  assert.deepEqual([...info.loraHashes], [['add_detail', '7c6bad76eb54'], ['dragon_v2', 'aaaa11112222'], ['armor shiny', 'bbbb33334444']]);
  // the parameters prompt keeps only the main prompt's tags: region LoRAs are not read back as whole-picture LoRAs
  assert.equal(info.prompt, 'a castle on a hill <lora:add_detail:0.6>');
  const read = infotextToSettings(text);
  assert.deepEqual(read.loras.map((l) => [l.model.name, l.model.hash, l.weight]), [['add_detail', '7c6bad76eb54', 0.6]]);
});

test('region LoRAs alone fill Lora hashes; a region LoRA without a hash is left out', () => {
  const settings: GenerationSettings = {
    ...SETTINGS,
    loras: [],
    regionLoras: [[{ model: model('dragon_v2', 'aaaa11112222'), weight: 0.8 }], [], [{ model: model('nohash', ''), weight: 1 }]],
  };
  const text = settingsToInfotext(settings);
  assert.equal(text.split('\n')[0], 'a castle on a hill');
  assert.deepEqual([...generationInfoFromText(text).loraHashes], [['dragon_v2', 'aaaa11112222']]);
  assert.deepEqual(infotextToSettings(text).loras, []);
  // no regions: no Lora hashes at all
  assert.doesNotMatch(settingsToInfotext({ ...SETTINGS, loras: [], regions: undefined, regionLoras: undefined }), /Lora hashes/);
});

test("A1111's own parsing of Lora hashes reads every region's LoRA", { skip: !hasA1111Reader && NO_A1111_READER }, () => {
  assert.deepEqual(a1111Read(settingsToInfotext(SETTINGS)).lora_hashes, { add_detail: '7c6bad76eb54', dragon_v2: 'aaaa11112222', 'armor shiny': 'bbbb33334444' });
});
