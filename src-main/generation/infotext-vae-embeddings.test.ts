// "VAE hash", "VAE" and "TI hashes" in the A1111 parameters text: written as A1111 writes them (the VAE by its
// file name with extension, TI hashes quoted as one list) and read back, also from a text A1111 itself wrote.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GenerationSettings } from '../common/generation-contract.ts';
import { parseParameters } from './a1111-parameters.ts';
import { infotextToSettings, settingsToInfotext } from './infotext.ts';

const settings: GenerationSettings = {
  prompt: 'a fox',
  negative: 'EasyNegative, (badhandv4:1.2)',
  width: 512,
  height: 512,
  steps: 20,
  cfg: 7,
  seed: 1,
  sampler: 'euler_a',
  clipSkip: 1,
  checkpoint: { id: 1, name: 'dreamshaper_8', hash: '879db523c3', path: '/m/dreamshaper_8.safetensors' },
  controls: [],
  loras: [],
  denoisingStrength: null,
  initResizeMode: null,
  inpaint: false,
  batchSize: 1,
  batchCount: 1,
  batchIndex: 0,
  vae: { id: 2, name: 'vae-ft-mse-840000-ema-pruned', hash: '735e4c3a44', path: 'C:\\models\\VAE\\vae-ft-mse-840000-ema-pruned.ckpt' },
  embeddings: [
    { id: 3, name: 'EasyNegative', hash: 'c74b4e810b03', path: '/e/EasyNegative.safetensors' },
    { id: 4, name: 'badhandv4', hash: '5e40d722fc3d', path: '/e/badhandv4.pt' },
  ],
};

test('the VAE and the embeddings used are written as A1111 writes them and read back', () => {
  const text = settingsToInfotext(settings);
  const line = text.split('\n').at(-1)!;
  assert.match(line, /VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned\.ckpt/);
  assert.match(line, /TI hashes: "EasyNegative: c74b4e810b03, badhandv4: 5e40d722fc3d"/);
  const read = infotextToSettings(text);
  assert.deepEqual(read.vae, { name: 'vae-ft-mse-840000-ema-pruned.ckpt', hash: '735e4c3a44', id: null });
  assert.deepEqual(read.embeddings, [
    { name: 'EasyNegative', hash: 'c74b4e810b03', id: null },
    { name: 'badhandv4', hash: '5e40d722fc3d', id: null },
  ]);
  // nothing of the kind when neither was used
  const plain = settingsToInfotext({ ...settings, vae: null, embeddings: [] });
  assert.doesNotMatch(plain, /VAE|TI hashes/);
  assert.deepEqual([infotextToSettings(plain).vae, infotextToSettings(plain).embeddings], [null, []]);
});

test('a text A1111 1.10 wrote is read: TI hashes, VAE hash and VAE', () => {
  const a1111 =
    'masterpiece, a fox in the snow\nNegative prompt: EasyNegative, badhandv4\n' +
    'Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: 879db523c3, ' +
    'Model: dreamshaper_8, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned.safetensors, ' +
    'TI hashes: "EasyNegative: c74b4e810b03, badhandv4: 5e40d722fc3d", Version: v1.10.1';
  const read = infotextToSettings(a1111);
  assert.deepEqual(read.vae, { name: 'vae-ft-mse-840000-ema-pruned.safetensors', hash: '735e4c3a44', id: null });
  assert.deepEqual(read.embeddings?.map((e) => e.name), ['EasyNegative', 'badhandv4']);
  assert.equal(parseParameters(a1111).settings.get('Version'), 'v1.10.1');
});
