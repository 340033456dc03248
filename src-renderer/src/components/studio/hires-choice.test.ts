// The studio's hires choice to the request and back from a picture's settings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_HIRES, hiresChoiceOf, hiresInput } from './hires-choice.ts';

test('off sends nothing; on sends the factor or the size, and a library upscaler by id', () => {
  assert.equal(hiresInput(DEFAULT_HIRES), null);
  assert.deepEqual(hiresInput({ ...DEFAULT_HIRES, enabled: true }), { upscaler: 'Latent', scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 0, denoise: 0.7 });
  const sized = hiresInput({ ...DEFAULT_HIRES, enabled: true, by: 'size', resizeWidth: 768, resizeHeight: 1024, upscaler: 'model', modelId: 12, steps: 10, denoise: 0.4 });
  assert.deepEqual(sized, { upscaler: 'model', model: 12, scale: 2, resizeWidth: 768, resizeHeight: 1024, steps: 10, denoise: 0.4 });
});

test('a picture read back gives the same choice; a picture without hires turns it off', () => {
  const read = { upscaler: 'model' as const, upscalerName: '4x-UltraSharp', model: { name: '4x-UltraSharp', hash: '', id: 7 }, scale: 1.5, resizeWidth: 0, resizeHeight: 0, steps: 12, denoise: 0.45 };
  const choice = hiresChoiceOf(read);
  assert.deepEqual(choice, { enabled: true, upscaler: 'model', modelId: 7, by: 'scale', scale: 1.5, resizeWidth: 1024, resizeHeight: 1024, steps: 12, denoise: 0.45 });
  assert.deepEqual(hiresInput(choice), { upscaler: 'model', model: 7, scale: 1.5, resizeWidth: 0, resizeHeight: 0, steps: 12, denoise: 0.45 });
  assert.equal(hiresChoiceOf({ ...read, upscaler: 'Lanczos', model: null, resizeWidth: 640, resizeHeight: 0 }).by, 'size');
  assert.deepEqual(hiresChoiceOf(null), DEFAULT_HIRES);
});
