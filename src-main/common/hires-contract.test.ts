// A1111's hires arithmetic (calculate_target_resolution, setup_img2img_steps) worked out by hand for the cases
// below, and the request validation that refuses a bad hires fix before anything runs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateGenerateInput } from './generation-contract.ts';
import { hiresSecondPass, hiresTarget } from './hires-contract.ts';

const by = (scale: number) => ({ scale, resizeWidth: 0, resizeHeight: 0 });

test("target sizes: int(side * scale) then A1111's latent grid (a multiple of 8)", () => {
  assert.deepEqual(hiresTarget(512, 768, by(1.5)), { upscaleWidth: 768, upscaleHeight: 1152, truncateX: 0, truncateY: 0, width: 768, height: 1152 });
  // 512 * 1.3 = 665.6 -> 665 pixels -> 83 latent cells -> 664
  assert.deepEqual(hiresTarget(512, 512, by(1.3)), { upscaleWidth: 665, upscaleHeight: 665, truncateX: 0, truncateY: 0, width: 664, height: 664 });
});

test('"Resize to" another aspect ratio covers it, then cuts the overflow (truncate); one side 0 keeps the ratio', () => {
  // 512x768 to 1024x1024: width-bound, 1024 x 1536, (1536 - 1024) // 8 = 64 cells cut
  assert.deepEqual(hiresTarget(512, 768, { scale: 1, resizeWidth: 1024, resizeHeight: 1024 }), { upscaleWidth: 1024, upscaleHeight: 1536, truncateX: 0, truncateY: 64, width: 1024, height: 1024 });
  // 768x512 to 1024x1024: height-bound, 1536 x 1024, 64 cells cut across
  assert.deepEqual(hiresTarget(768, 512, { scale: 1, resizeWidth: 1024, resizeHeight: 1024 }).truncateX, 64);
  assert.deepEqual(hiresTarget(512, 768, { scale: 1, resizeWidth: 1024, resizeHeight: 0 }), { upscaleWidth: 1024, upscaleHeight: 1536, truncateX: 0, truncateY: 0, width: 1024, height: 1536 });
  assert.deepEqual(hiresTarget(512, 768, { scale: 1, resizeWidth: 0, resizeHeight: 1200 }), { upscaleWidth: 800, upscaleHeight: 1200, truncateX: 0, truncateY: 0, width: 800, height: 1200 });
});

test('second pass: a schedule of int(N / min(denoise, 0.999)) steps, the last N run; Hires steps 0 means the first pass steps', () => {
  assert.deepEqual(hiresSecondPass(20, 10, 0.5), { scheduleSteps: 20, runSteps: 10 });
  assert.deepEqual(hiresSecondPass(20, 0, 0.7), { scheduleSteps: 28, runSteps: 20 });
  assert.deepEqual(hiresSecondPass(20, 10, 1), { scheduleSteps: 10, runSteps: 10 });
  assert.deepEqual(hiresSecondPass(30, 15, 0.45), { scheduleSteps: 33, runSteps: 15 });
});

test('a hires request: defaults, and what is refused with a clear message', () => {
  const base = { checkpoint: 1, prompt: 'x', width: 512, height: 512, steps: 20 };
  const ok = validateGenerateInput({ ...base, hires: { upscaler: 'Latent (bicubic antialiased)', scale: 2 } });
  assert.deepEqual(ok.hires, { upscaler: 'Latent (bicubic antialiased)', scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 0, denoise: 0.7 });
  assert.equal(validateGenerateInput(base).hires, null);
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ hires: { scale: 4.5 } }, /hires\.scale must be a number from 1 to 4/],
    [{ width: 768, hires: { scale: 3 } }, /upscaling by 3 makes 768x512 into 2304x1536, above the largest size the engine generates \(2048 px a side\)/],
    [{ hires: { resizeWidth: 4096, resizeHeight: 0 } }, /hires\.resizeWidth must be a number from 0 to 2048/],
    [{ hires: { resizeWidth: 100, resizeHeight: 0 } }, /hires\.resizeWidth must be 0 or a multiple of 8 from 64 to 2048/],
    [{ width: 1024, hires: { resizeWidth: 0, resizeHeight: 2048 } }, /resizing to 0x2048 makes 1024x512 into 4096x2048, above the largest size/],
    [{ hires: { upscaler: '4x-UltraSharp' } }, /hires\.upscaler must be one of Latent, .*Lanczos, model/],
    [{ hires: { upscaler: 'model' } }, /hires\.model must be a library model id/],
    [{ hires: { upscaler: 'Lanczos', model: 3 } }, /hires\.model is only for the upscaler 'model'/],
    [{ hires: { steps: 150, denoise: 0.1 } }, /150 steps at denoising strength 0\.1 stretch the schedule to 1500 steps \(at most 1000\)/],
    [{ init: { imagePngBase64: 'AAAA', strength: 0.5 }, hires: {} }, /hires fix is for text-to-image/],
  ];
  for (const [extra, message] of refused) assert.throws(() => validateGenerateInput({ ...base, ...extra }), message, JSON.stringify(extra));
});
