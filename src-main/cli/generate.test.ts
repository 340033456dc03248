// `hintbrush generate` end to end on the tiny fixtures, the engine in a child process as in the app. The PNG's
// metadata is checked with tools that are not Hintbrush's: an independent PNG chunk reader (png-chunks-extract,
// png-chunk-text) and A1111's own parsing logic in Python (test/support/a1111_infotext.py).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fillDisk } from '../formats/disk-full.test-support.ts';
import { openSafetensors } from '../formats/safetensors.ts';
import { encodePng } from '../formats/png.ts';
import { fixture, golden, PIPELINE_TOLERANCE, referenceJson, relativeError } from '../engine/goldens.test-support.ts';
import type { CliIo } from './command.ts';
import { outputPath } from './commands/generate.ts';
import { parseLoraSpec, parseUnitSpec } from './generate-args.ts';
import { main } from './hintbrush.ts';
import { a1111Read, hasA1111Reader, NO_A1111_READER } from '../generation/a1111-reader.test-support.ts';

const require = createRequire(import.meta.url);
const extractChunks = require('png-chunks-extract') as (data: Uint8Array) => Array<{ name: string; data: Uint8Array }>;
const decodeText = (require('png-chunk-text') as { decode(data: Uint8Array): { keyword: string; text: string } }).decode;

function captureIo(onErr: (text: string) => void = () => {}): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    isTty: false,
    out: (t: string) => void (io.stdout += t),
    err: (t: string) => {
      io.stderr += t;
      onErr(io.stderr);
    },
  };
  return io;
}


describe('argument specs read from the right', () => {
  it('splits FILE:IMAGE:WEIGHT[:START:END] with Windows drives and POSIX paths', () => {
    assert.deepEqual(parseUnitSpec('C:\\models\\cn.safetensors:D:\\hints\\edge.png:0.8', '--control'), {
      file: 'C:\\models\\cn.safetensors',
      image: 'D:\\hints\\edge.png',
      weight: 0.8,
      start: 0,
      end: 1,
    });
    assert.deepEqual(parseUnitSpec('/m/cn.safetensors:/h/edge.png:1:0.25:.75', '--control'), { file: '/m/cn.safetensors', image: '/h/edge.png', weight: 1, start: 0.25, end: 0.75 });
    assert.deepEqual(parseUnitSpec('c:/m/cn.ckpt:hint.png:0.5', '--cnxs').file, 'c:/m/cn.ckpt');
    assert.deepEqual(parseLoraSpec('C:\\loras\\detail.safetensors:0.6'), { file: 'C:\\loras\\detail.safetensors', weight: 0.6 });
    assert.deepEqual(parseLoraSpec('/l/a:b.safetensors:1'), { file: '/l/a:b.safetensors', weight: 1 });
    for (const bad of ['cn.safetensors:0.8', 'cn:hint.png', 'cn:hint.png:0.5:0.2', 'cn:hint.png:3', 'cn:hint.png:1:0.8:0.2', 'a:b:c.png:1']) {
      assert.throws(() => parseUnitSpec(bad, '--control'), (e: Error & { kind?: string }) => e.kind === 'usage', bad);
    }
    assert.throws(() => parseLoraSpec('detail.safetensors'), /FILE:WEIGHT/);
    assert.equal(outputPath('/o/pic.png', 0, 1), '/o/pic.png');
    assert.equal(outputPath('/o/pic.png', 1, 3), '/o/pic-2.png');
  });
});

describe('hintbrush generate', () => {
  let tmp: string;
  const F = (name: string) => fixture(name);
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-generate-'));
    // two hints of another size and ratio than the picture, so they go through the resize
    const edge = new Uint8Array(96 * 64 * 3).map((_, i) => ((i / 3) % 96 > 48 ? 255 : 0));
    const blob = new Uint8Array(80 * 80 * 3).map((_, i) => (i * 5) % 256);
    writeFileSync(path.join(tmp, 'edge.png'), encodePng({ width: 96, height: 64, channels: 3, data: edge }));
    writeFileSync(path.join(tmp, 'blob.png'), encodePng({ width: 80, height: 80, channels: 3, data: blob }));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('two ControlNets and a LoRA: the PNG metadata reads back the same through A1111-compatible readers', async (t) => {
    const out = path.join(tmp, 'cn.png');
    const io = captureIo();
    const argv = [
      'generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'a castle on a hill, (sunset:1.2)', '--negative', 'blurry, low quality',
      '--width', '128', '--height', '64', '--steps', '3', '--cfg', '6.5', '--seed', '1234', '--sampler', 'dpmpp_2m_karras', '--clip-skip', '2',
      '--control', `${F('tiny-controlnet.safetensors')}:${path.join(tmp, 'edge.png')}:0.8`,
      '--control', `${F('tiny-controlnet-b.safetensors')}:${path.join(tmp, 'blob.png')}:0.6:0.1:0.9`,
      '--lora', `${F('tiny-lora.safetensors')}:0.7`,
      '--out', out, '--provider', 'cpu',
    ];
    assert.equal(await main(argv, io), 0, io.stderr);
    assert.deepEqual(io.stderr.split('\n').filter((l) => /^\[\d+\/3\]/.test(l)).map((l) => l.slice(0, 5)), ['[1/3]', '[2/3]', '[3/3]']);

    const texts = extractChunks(readFileSync(out)).filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data));
    assert.equal(texts.length, 1);
    assert.equal(texts[0].keyword, 'parameters');
    if (!hasA1111Reader) return t.skip(NO_A1111_READER);
    const { params, controlnets, lora_hashes } = a1111Read(texts[0].text);
    assert.equal(params.Prompt, 'a castle on a hill, (sunset:1.2) <lora:tiny-lora:0.7>');
    assert.equal(params['Negative prompt'], 'blurry, low quality');
    const sd15Hash = (await import('../library/hash.ts')).hashFile;
    const expected = {
      Steps: '3',
      Sampler: 'DPM++ 2M Karras',
      'CFG scale': '6.5',
      Seed: '1234',
      'Size-1': '128',
      'Size-2': '64',
      'Model hash': (await sd15Hash(F('tiny-sd15.safetensors'))).shortHash,
      Model: 'tiny-sd15',
      'Clip skip': '2',
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(params[k], v, k);
    const cnHash = async (f: string) => (await sd15Hash(F(f))).legacyHash;
    assert.deepEqual(controlnets, {
      'ControlNet 0': { module: 'none', model: `tiny-controlnet [${await cnHash('tiny-controlnet.safetensors')}]`, weight: 0.8, guidance_start: 0, guidance_end: 1, resize_mode: 'Crop and Resize' },
      'ControlNet 1': { module: 'none', model: `tiny-controlnet-b [${await cnHash('tiny-controlnet-b.safetensors')}]`, weight: 0.6, guidance_start: 0.1, guidance_end: 0.9, resize_mode: 'Crop and Resize' },
    });
    assert.deepEqual(lora_hashes, { 'tiny-lora': 'c5878c3f88bb' });
  });

  it('--latents-out with ddim on the fixture reproduces pipe.ddim.latents', async () => {
    const p = referenceJson().pipeline;
    const latents = path.join(tmp, 'ddim.safetensors');
    const io = captureIo();
    const argv = [
      'generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', p.prompt, '--negative', p.negative,
      '--width', String(p.width), '--height', String(p.height), '--steps', String(p.steps), '--cfg', String(p.cfg), '--seed', String(p.seed),
      '--sampler', 'ddim', '--out', path.join(tmp, 'ddim.png'), '--latents-out', latents, '--provider', 'cpu', '--precision', 'fp32',
    ];
    assert.equal(await main(argv, io), 0, io.stderr);
    const file = openSafetensors(latents);
    try {
      assert.deepEqual(file.tensors.get('latents')?.shape, [1, 4, 32, 32]);
      assert.equal(file.tensors.get('latents')?.dtype, 'F32');
      const err = relativeError(file.readFloat32('latents'), golden('pipe.ddim.latents').data);
      assert.ok(err < PIPELINE_TOLERANCE, `pipe.ddim.latents error ${err}`);
    } finally {
      file.close();
    }
  });

  it('Ctrl-C cancels a running generation within one step', async () => {
    const interrupt = new AbortController();
    let stepAtAbort = 0;
    const io = captureIo((all) => {
      const m = /\[(\d+)\/150\][^\n]*\n$/.exec(all);
      if (m && Number(m[1]) >= 2 && !interrupt.signal.aborted) {
        stepAtAbort = Number(m[1]);
        interrupt.abort();
      }
    });
    const out = path.join(tmp, 'cancelled.png');
    const argv = ['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'a cat', '--width', '64', '--height', '64', '--steps', '150', '--seed', '1', '--out', out, '--provider', 'cpu'];
    assert.equal(await main(argv, io, interrupt.signal), 130, io.stderr);
    const steps = [...io.stderr.matchAll(/\[(\d+)\/150\]/g)].map((m) => Number(m[1]));
    assert.ok(Math.max(...steps) <= stepAtAbort + 1, `ran to step ${Math.max(...steps)} after a cancel at step ${stepAtAbort}`);
    assert.match(io.stderr, /Cancelled/);
    assert.equal(existsSync(out), false);
  });

  it('a missing file is named; a wrong command line exits with 2', async () => {
    const missing = captureIo();
    const argv = ['generate', '--checkpoint', path.join(tmp, 'nope.safetensors'), '--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--provider', 'cpu'];
    assert.equal(await main(argv, missing), 1);
    assert.match(missing.stderr, /checkpoint not found: .*nope\.safetensors/);
    const usage = captureIo();
    assert.equal(await main(['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'x', '--out', 'x.png', '--width', '100'], usage), 2);
    assert.match(usage.stderr, /--width must be a multiple of 8/);
    const noStep = captureIo();
    const img2img = ['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'x', '--out', 'x.png', '--init-image', path.join(tmp, 'edge.png'), '--strength', '0.04', '--steps', '20'];
    assert.equal(await main(img2img, noStep), 2);
    assert.match(noStep.stderr, /--strength 0\.04 leaves no step to run at 20 steps; at 20 steps it must be at least 0\.05/);
    const wrong = captureIo();
    const lora = ['generate', '--checkpoint', F('tiny-lora.safetensors'), '--prompt', 'x', '--width', '64', '--height', '64', '--steps', '1', '--out', path.join(tmp, 'w.png'), '--provider', 'cpu'];
    assert.equal(await main(lora, wrong), 1);
    assert.match(wrong.stderr, /tiny-lora\.safetensors is a lora model, but an SD1\.5 checkpoint is needed/);
  });

  it('a prompt whose prompt editing does not parse exits with 2, showing the column and a caret', async () => {
    const io = captureIo();
    const argv = ['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'a [cat|dog', '--out', path.join(tmp, 'p.png')];
    assert.equal(await main(argv, io), 2);
    assert.match(io.stderr, /--prompt: the prompt editing does not parse: .*"\[" at column 3 has no matching "\]".*\(column 7\)/);
    assert.match(io.stderr, /\n {2}a \[cat\|dog\n {8}\^/);
    const negative = captureIo();
    const argv2 = ['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'x', '--negative', '[ugly:blurry:0.5] | bad', '--out', path.join(tmp, 'p.png')];
    assert.equal(await main(argv2, negative), 2);
    assert.match(negative.stderr, /--negative: .*outside any \[a\|b\] alternation.*\(column 19\)/);
  });

  it('--out on a full disk exits 1 with the reason in words and leaves the old file whole, no temporary file', async (t) => {
    const folder = path.join(tmp, 'full');
    mkdirSync(folder);
    const out = path.join(folder, 'pic.png');
    writeFileSync(out, 'the picture of yesterday');
    const disk = fillDisk(t, folder, { freeBytes: 1000 });
    const io = captureIo();
    const argv = ['generate', '--checkpoint', F('tiny-sd15.safetensors'), '--prompt', 'a cat', '--width', '64', '--height', '64', '--steps', '1', '--seed', '1', '--out', out, '--provider', 'cpu'];
    assert.equal(await main(argv, io), 1, io.stderr);
    assert.ok(disk.refused > 0);
    assert.match(io.stderr, /hintbrush generate: The disk is full: could not save pic\.png in .*full \(.* needed/);
    assert.equal(io.stdout, '', 'no path is printed for a picture that was not written');
    assert.equal(readFileSync(out, 'utf8'), 'the picture of yesterday');
    assert.deepEqual(readdirSync(folder), ['pic.png']);
  });
});
