// Hires fix in A1111's parameters text: what A1111 1.x writes is read, what Hintbrush writes is read back the
// same, and A1111's own parser (the Python port in test/support) reads Hintbrush's text to the same values.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureSettings } from '../engine/tasks/golden-settings.test-support.ts';
import { infotextToSettings, settingsToInfotext } from './infotext.ts';
import { a1111Read, hasA1111Reader, NO_A1111_READER } from './a1111-reader.test-support.ts';

const A1111_TEXT = `a castle, masterpiece
Negative prompt: blurry
Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, Hires upscale: 1.5, Hires steps: 12, Hires upscaler: 4x-UltraSharp, Version: v1.9.4`;

test('an A1111 hires text: the first pass size, the hires upscale, steps, model upscaler and strength', () => {
  const s = infotextToSettings(A1111_TEXT);
  assert.deepEqual([s.width, s.height, s.steps, s.denoisingStrength], [512, 768, 20, 0.45]);
  assert.deepEqual(s.hires, { upscaler: 'model', upscalerName: '4x-UltraSharp', model: { name: '4x-UltraSharp', hash: '', id: null }, scale: 1.5, resizeWidth: 0, resizeHeight: 0, steps: 12, denoise: 0.45 });
  const resize = infotextToSettings(A1111_TEXT.replace('Hires upscale: 1.5, Hires steps: 12, Hires upscaler: 4x-UltraSharp', 'Hires resize: 1024x1024, Hires upscaler: Latent (bicubic antialiased)'));
  assert.deepEqual(resize.hires, { upscaler: 'Latent (bicubic antialiased)', upscalerName: 'Latent (bicubic antialiased)', model: null, scale: 2, resizeWidth: 1024, resizeHeight: 1024, steps: 0, denoise: 0.45 });
  assert.equal(infotextToSettings(A1111_TEXT.replace(/, Hires .*, Version/, ', Version')).hires, null);
});

test("Hintbrush's hires text reads back to the same settings, here and in A1111's parser", (t) => {
  const hires = { upscaler: 'Latent' as const, model: null, scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 10, denoise: 0.5 };
  const text = settingsToInfotext(fixtureSettings({ width: 256, height: 256, hires }));
  assert.match(text, /Size: 256x256, .*Denoising strength: 0\.5, Hires upscale: 2, Hires steps: 10, Hires upscaler: Latent, Version: Hintbrush$/);
  const back = infotextToSettings(text);
  assert.deepEqual(back.hires, { ...hires, upscalerName: 'Latent' });
  const sized = settingsToInfotext(fixtureSettings({ hires: { ...hires, steps: 0, resizeWidth: 512, resizeHeight: 384, upscaler: 'Lanczos' } }));
  assert.match(sized, /Denoising strength: 0\.5, Hires resize: 512x384, Hires upscaler: Lanczos, Version/);

  if (!hasA1111Reader) return t.skip(NO_A1111_READER);
  const parse = (s: string) => a1111Read(s).params;
  const p = parse(text);
  assert.deepEqual([p['Size-1'], p['Size-2'], p['Denoising strength'], p['Hires upscale'], p['Hires steps'], p['Hires upscaler']], ['256', '256', '0.5', '2', '10', 'Latent']);
  const q = parse(sized);
  assert.deepEqual([q['Hires resize-1'], q['Hires resize-2'], q['Hires upscaler'], q['Hires steps']], ['512', '384', 'Lanczos', undefined]);
});
