// `hintbrush generate --regions FILE.json` end to end (engine in a child process, as in the app): a region
// covering the whole picture gives the latents of its prompt alone; the PNG carries the regions in its own
// hintbrush-regions chunk (read here with an independent chunk reader) while `parameters` stays A1111's; notes
// name a resized mask and a skipped empty one; a bad regions file is refused before anything runs, naming the
// first wrong field or the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensors } from '../formats/safetensors.ts';
import { decodePng, encodePng } from '../formats/png.ts';
import { fixture, relativeError } from '../engine/goldens.test-support.ts';
import { MAX_REGIONS, REGIONS_PNG_KEYWORD, regionsFromPngText } from '../common/regions-contract.ts';
import { main } from './hintbrush.ts';

const require = createRequire(import.meta.url);
const extractChunks = require('png-chunks-extract') as (data: Uint8Array) => Array<{ name: string; data: Uint8Array }>;
const decodeText = (require('png-chunk-text') as { decode(data: Uint8Array): { keyword: string; text: string } }).decode;

function captureIo() {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

const grey = (w: number, h: number, f: (x: number, y: number) => number) =>
  encodePng({ width: w, height: h, channels: 1, data: Uint8Array.from({ length: w * h }, (_, i) => f(i % w, Math.floor(i / w))) });

describe('hintbrush generate --regions', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-regions-'));
    writeFileSync(path.join(tmp, 'all.png'), grey(32, 32, () => 255)); // another size: resized, with a note
    writeFileSync(path.join(tmp, 'none.png'), grey(96, 64, () => 0));
    writeFileSync(path.join(tmp, 'left.png'), grey(96, 64, (x) => (x < 40 ? 255 : x < 56 ? 128 : 0)));
    writeFileSync(path.join(tmp, 'right.png'), grey(96, 64, (x) => (x >= 48 ? 255 : 0)));
    writeFileSync(path.join(tmp, 'broken.png'), 'not a png');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const run = async (extra: string[], name: string) => {
    const io = captureIo();
    const argv = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--negative', 'blurry', '--width', '96', '--height', '64', '--steps', '3',
      '--seed', '5', '--sampler', 'euler_a', '--provider', 'cpu', '--precision', 'fp32', '--out', path.join(tmp, `${name}.png`), '--latents-out', path.join(tmp, `${name}.safetensors`), ...extra];
    const code = await main(argv, io);
    return { code, io, latents: () => { const f = openSafetensors(path.join(tmp, `${name}.safetensors`)); try { return f.readFloat32('latents'); } finally { f.close(); } } };
  };
  const regionsFile = (name: string, value: unknown) => {
    const file = path.join(tmp, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  it('a whole-picture region gives the latents of its prompt alone; resized and empty masks are noted', async () => {
    const alone = await run(['--prompt', 'a red dragon'], 'alone');
    assert.equal(alone.code, 0, alone.io.stderr);
    const file = regionsFile('whole.json', [{ mask: 'all.png', prompt: 'a red dragon', feather: 4 }, { mask: 'none.png', prompt: 'nothing' }]);
    const regional = await run(['--prompt', 'a castle', '--regions', file], 'whole');
    assert.equal(regional.code, 0, regional.io.stderr);
    assert.match(regional.io.stderr, /Note: region \[1\] \("nothing"\): its mask .*none\.png is empty \(all black\), so the region is skipped/);
    assert.match(regional.io.stderr, /Note: region 1 \("a red dragon"\) mask is 32x32; resized to 96x64/);
    assert.ok(relativeError(regional.latents(), alone.latents()) < 1e-6);
  });

  it('two feathered regions: the PNG records prompts and masks in its own chunk, parameters stay A1111 text', async () => {
    const file = regionsFile('two.json', [
      { mask: 'left.png', prompt: 'a red dragon', feather: 8, appendMain: true },
      { mask: 'right.png', prompt: 'a castle (at dusk:1.2)', feather: 0, appendMain: false },
    ]);
    const result = await run(['--prompt', 'fantasy landscape', '--regions', file], 'two');
    assert.equal(result.code, 0, result.io.stderr);
    const texts = extractChunks(readFileSync(path.join(tmp, 'two.png'))).filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data));
    assert.deepEqual(texts.map((t) => t.keyword), ['parameters', REGIONS_PNG_KEYWORD]);
    assert.match(texts[0].text, /^fantasy landscape\nNegative prompt: blurry\nSteps: 3,/);
    const regions = regionsFromPngText(texts[1].text);
    assert.deepEqual(regions.map((r) => [r.prompt, r.feather, r.appendMain]), [['a red dragon', 8, true], ['a castle (at dusk:1.2)', 0, false]]);
    const left = decodePng(Buffer.from(regions[0].maskPngBase64, 'base64'));
    assert.deepEqual([left.width, left.height, left.channels], [96, 64, 1]);
    assert.deepEqual([left.data[10], left.data[45], left.data[70]], [255, 128, 0]);
    assert.ok(relativeError(result.latents(), (await run(['--prompt', 'fantasy landscape'], 'plain')).latents()) > 1e-3);
  });

  it('a bad regions file is refused before anything runs, naming the field or the file', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"mask": ', /not JSON/],
      [{ mask: 'left.png', prompt: 'x' }, /must be a JSON array of \{"mask": "PNG"/],
      [[{ mask: 'left.png', prompt: 'x', weight: 2 }], /region \[0\]: unknown field "weight"/],
      [[{ mask: 'left.png', prompt: 'x' }, { mask: 'left.png', prompt: 'y', feather: '4' }], /region \[1\]\.feather must be a number of pixels from 0 to 256/],
      [[{ mask: 'left.png', prompt: 3 }], /region \[0\]\.prompt must be text/],
      [[{ mask: 'left.png', prompt: 'x', appendMain: 'yes' }], /region \[0\]\.appendMain must be true or false/],
      [[{ prompt: 'x' }], /region \[0\]\.mask must be the path of a PNG/],
      [[{ mask: 'gone.png', prompt: 'x' }], /region \[0\]\.mask .*gone\.png does not exist/],
      [[{ mask: 'broken.png', prompt: 'x' }], /region \[0\]\.mask is not a readable PNG/],
      [Array.from({ length: MAX_REGIONS + 1 }, () => ({ mask: 'left.png', prompt: 'x' })), new RegExp(`${MAX_REGIONS + 1} regions; at most ${MAX_REGIONS}`)],
    ];
    for (const [i, [value, message]] of cases.entries()) {
      const out = path.join(tmp, `bad-${i}.png`);
      const io = captureIo();
      const argv = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'x', '--out', out, '--regions', regionsFile(`bad-${i}.json`, value)];
      assert.equal(await main(argv, io), 1, `case ${i}: ${io.stderr}`);
      assert.match(io.stderr, message, `case ${i}`);
      assert.doesNotMatch(io.stderr, /Seed/, 'nothing started');
    }
    const missing = captureIo();
    assert.equal(await main(['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'x', '--out', path.join(tmp, 'm.png'), '--regions', path.join(tmp, 'nope.json')], missing), 1);
    assert.match(missing.stderr, /nope\.json: cannot read the regions file \(ENOENT\)/);
  });
});
