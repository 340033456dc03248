// The one generation request -> settings -> payload path, with the studio's library resolver: defaults come from
// validateGenerateInput, models resolve by id or path with A1111's hash for their kind, the checkpoint's default
// VAE applies only when the request names none, and bad selectors are refused naming the model and its role.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LibraryItem } from '../common/contract.ts';
import { validateGenerateInput } from '../common/generation-contract.ts';
import { libraryModelResolver } from './library-model-resolver.ts';
import { payloadFromInput, settingsFromInput } from './settings-from-input.ts';

const item = (id: number, kind: LibraryItem['kind'], extra: Partial<LibraryItem> = {}): LibraryItem => ({
  id,
  path: `/models/${kind}-${id}.safetensors`,
  name: `${kind}-${id}`,
  kind,
  layout: '',
  family: 'sd15',
  problem: '',
  sizeBytes: 1,
  sha256: `${id}`.padStart(64, 'a'),
  shortHash: `${id}`.padStart(10, 'b'),
  metadata: {},
  triggerWords: [],
  details: {},
  addedAt: '',
  ...extra,
});

const items = [
  item(1, 'checkpoint', { defaultVaeId: 2 }),
  item(2, 'vae'),
  item(3, 'controlnet', { details: { legacyHash: '1234abcd' } }),
  item(4, 'lora'),
  item(5, 'lora', { problem: 'made for SDXL' }),
  item(6, 'upscaler'),
];
const loraHashes: string[] = [];
const models = libraryModelResolver(items, async (i) => {
  loraHashes.push(i.path);
  return 'c0ffee123456';
});
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64');

describe('settingsFromInput and payloadFromInput', () => {
  it('turn the smallest request into settings with the contract defaults and the checkpoint default VAE', async () => {
    const input = validateGenerateInput({ checkpoint: 1, prompt: 'a cat', seed: 7 });
    const s = await settingsFromInput(input, models);
    assert.deepEqual(
      { width: s.width, height: s.height, steps: s.steps, cfg: s.cfg, sampler: s.sampler, clipSkip: s.clipSkip, batchSize: s.batchSize, batchCount: s.batchCount, seed: s.seed },
      { width: 512, height: 512, steps: 20, cfg: 7.5, sampler: 'euler_a', clipSkip: 1, batchSize: 1, batchCount: 1, seed: 7 },
    );
    assert.deepEqual(s.checkpoint, { id: 1, name: 'checkpoint-1', hash: items[0].shortHash, path: items[0].path });
    assert.deepEqual(s.vae, { id: 2, name: 'vae-2', hash: items[1].shortHash, path: items[1].path });
    assert.equal(s.denoisingStrength, null);
    assert.equal(s.hires, null);
    // null asks for the checkpoint's own VAE
    assert.equal((await settingsFromInput(validateGenerateInput({ checkpoint: items[0].path, prompt: '', vae: null }), models)).vae, undefined);
  });

  it("records each model with A1111's hash for its kind and puts the pictures in the payload in order", async () => {
    const input = validateGenerateInput({
      checkpoint: 1,
      prompt: 'x',
      controls: [{ kind: 'controlnet', model: 3, imagePngBase64: png, weight: 0.5, layer: 'Hint 1' }],
      loras: [{ model: items[3].path, weight: 0.8 }],
      hires: { upscaler: 'model', model: 6, scale: 2 },
      init: null,
    });
    const s = await settingsFromInput(input, models);
    assert.equal(s.controls[0].model.hash, '1234abcd'); // sd-webui-controlnet's legacy hash
    assert.equal(s.controls[0].layer, 'Hint 1');
    assert.equal(s.controls[0].resizeMode, 'crop-and-resize');
    assert.deepEqual(s.loras, [{ model: { id: 4, name: 'lora-4', hash: 'c0ffee123456', path: items[3].path }, weight: 0.8 }]);
    assert.deepEqual(loraHashes.at(-1), items[3].path);
    assert.deepEqual(s.hires?.model, { id: 6, name: 'upscaler-6', hash: '', path: items[5].path });
    const payload = payloadFromInput(s, input, { embeddings: ['/e/a.pt'] });
    assert.deepEqual([...(payload.controls[0] as { png: Uint8Array }).png], [0x89, 0x50, 0x4e, 0x47]);
    assert.equal(payload.init, null);
    assert.deepEqual(payload.embeddings, ['/e/a.pt']);
    assert.equal(payload.settings, s);
  });

  it('refuses a model that is missing, of another kind or unusable, naming it and its role', async () => {
    const refuse = (raw: Record<string, unknown>, message: RegExp) => assert.rejects(settingsFromInput(validateGenerateInput({ checkpoint: 1, prompt: '', ...raw }), models), message);
    await refuse({ checkpoint: 99 }, /The checkpoint 99 is not in the library/);
    await refuse({ vae: 4 }, /lora-4 is a lora model, not a VAE/);
    await refuse({ loras: [{ model: 5, weight: 1 }] }, /lora-5 cannot be used: made for SDXL/);
  });

  it("resolves a region prompt's <lora:name:weight> tags to the library's LoRAs of that name, per region, and names a bad one", async () => {
    const region = (prompt: string) => ({ maskPngBase64: png, prompt, feather: 0, appendMain: false });
    const input = validateGenerateInput({ checkpoint: 1, prompt: 'x', regions: [region('a cat'), region('a dragon <lora:LORA-4:-0.5>, <lora:lora-4>')] });
    const s = await settingsFromInput(input, models);
    const ref = { id: 4, name: 'lora-4', hash: 'c0ffee123456', path: items[3].path };
    assert.deepEqual(s.regionLoras, [[], [{ model: ref, weight: -0.5 }, { model: ref, weight: 1 }]]);
    assert.equal(s.regions?.[1].prompt, 'a dragon <lora:LORA-4:-0.5>, <lora:lora-4>', 'the tags stay in the prompt');
    assert.equal((await settingsFromInput(validateGenerateInput({ checkpoint: 1, prompt: 'x', regions: [region('a cat')] }), models)).regionLoras, undefined);
    const refuse = (prompt: string, message: RegExp) => assert.rejects(settingsFromInput(validateGenerateInput({ checkpoint: 1, prompt: '', regions: [region('a cat'), region(prompt)] }), models), message);
    await refuse('a dragon <lora:gone:1>', /region 2 \("a dragon <lora:gone:1>"\): <lora:gone> names no LoRA in the library/);
    await refuse('<lora:lora-5:1>', /lora-5 cannot be used: made for SDXL/);
    await refuse('<lora:lora-4:3>', /region 2 .*the weight in <lora:lora-4:3> must be a number from -2 to 2/);
    await refuse('<lora:lora-4:1:0.5>', /region 2 .*has more than a name and a weight/);
  });
});
