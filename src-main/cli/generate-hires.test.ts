// `hintbrush generate --hires-*` end to end on the tiny fixture (engine in a child process, as in the app): the
// PNG has the target size and its A1111 parameters read back to the same hires settings, here and through
// A1111's parser (Python port in test/support); bad hires options are refused before anything runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../engine/goldens.test-support.ts';
import { infotextToSettings } from '../generation/infotext.ts';
import { decodePng } from '../formats/png.ts';
import type { CliIo } from './command.ts';
import { main } from './hintbrush.ts';
import { a1111Read, hasA1111Reader, NO_A1111_READER } from '../generation/a1111-reader.test-support.ts';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe('hintbrush generate with hires fix', () => {
  let tmp: string;
  before(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-hires-cli-'))));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const base = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'a castle', '--width', '64', '--height', '64', '--steps', '3', '--seed', '7', '--sampler', 'euler', '--provider', 'cpu'];

  it('--hires-scale 2 --hires-steps 2 --hires-denoise 0.5 --hires-upscaler lanczos: a 128x128 PNG that reads back the same', async (t) => {
    const out = path.join(tmp, 'hires.png');
    const io = captureIo();
    const code = await main([...base, '--hires-scale', '2', '--hires-steps', '2', '--hires-denoise', '0.5', '--hires-upscaler', 'lanczos', '--out', out], io);
    assert.equal(code, 0, io.stderr);
    assert.deepEqual(io.stderr.split('\n').filter((l) => /^\[\d+\/5\]/.test(l)).map((l) => l.slice(0, 5)), ['[1/5]', '[2/5]', '[3/5]', '[4/5]', '[5/5]']);
    const png = decodePng(readFileSync(out));
    assert.deepEqual([png.width, png.height], [128, 128]);
    const text = png.text.parameters;
    const read = infotextToSettings(text);
    assert.deepEqual([read.width, read.height, read.steps, read.seed, read.denoisingStrength], [64, 64, 3, 7, 0.5]);
    assert.deepEqual(read.hires, { upscaler: 'Lanczos', upscalerName: 'Lanczos', model: null, scale: 2, resizeWidth: 0, resizeHeight: 0, steps: 2, denoise: 0.5 });

    if (!hasA1111Reader) return t.skip(NO_A1111_READER);
    const { params } = a1111Read(text);
    assert.deepEqual(
      [params['Size-1'], params['Size-2'], params.Steps, params['Denoising strength'], params['Hires upscale'], params['Hires steps'], params['Hires upscaler']],
      ['64', '64', '3', '0.5', '2', '2', 'Lanczos'],
    );
  });

  it('bad hires options are named before the engine starts', async () => {
    const notOnnx = path.join(tmp, 'upscaler.pth');
    writeFileSync(notOnnx, 'x');
    const cases: [string[], RegExp][] = [
      [['--width', '1024', '--hires-scale', '3'], /upscaling by 3 makes 1024x64 into 3072x192, above the largest size the engine generates \(2048 px a side\)/],
      [['--hires-scale', '2', '--hires-upscaler', 'esrgan-9000'], /--hires-upscaler: "esrgan-9000" is neither an upscaler Hintbrush has .* nor an existing file/],
      [['--hires-scale', '2', '--hires-upscaler', notOnnx], /is not an \.onnx image upscaler/],
      [['--hires-steps', '4'], /--hires-steps needs --hires-scale S/],
      [['--hires-scale', '5'], /--hires-scale must be a number from 1 to 4/],
      [['--hires-scale', '2', '--init-image', path.join(tmp, 'x.png')], /hires fix is for text-to-image/],
    ];
    for (const [extra, message] of cases) {
      const io = captureIo();
      const out = path.join(tmp, 'bad.png');
      const code = await main([...base, ...extra, '--out', out], io);
      assert.notEqual(code, 0, extra.join(' '));
      assert.match(io.stderr, message, extra.join(' '));
      assert.ok(!existsSync(out));
    }
  });
});
