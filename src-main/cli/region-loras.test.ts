// `<lora:name:weight>` in a --regions prompt, end to end through `hintbrush generate` (engine in a child process):
// a whole-picture region with the tag gives the latents of `--prompt <its text> --lora FILE:1`, the name found in
// --lora-dir; the PNG's regions chunk keeps the tag in the region's prompt (so reopening restores it), and its
// `parameters` name the LoRA in "Lora hashes" as the --lora run's do; an unknown name or a malformed tag is
// refused before anything runs, naming the region and the tag.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensors } from '../formats/safetensors.ts';
import { encodePng } from '../formats/png.ts';
import { fixture, relativeError } from '../engine/goldens.test-support.ts';
import { REGIONS_PNG_KEYWORD, regionsFromPngText } from '../common/regions-contract.ts';
import { generationInfoFromText } from '../generation/a1111-parameters.ts';
import { main } from './hintbrush.ts';

const require = createRequire(import.meta.url);
const extractChunks = require('png-chunks-extract') as (data: Uint8Array) => Array<{ name: string; data: Uint8Array }>;
const decodeText = (require('png-chunk-text') as { decode(data: Uint8Array): { keyword: string; text: string } }).decode;

function captureIo() {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

describe('hintbrush generate: LoRAs tied to a region', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-region-loras-'));
    writeFileSync(path.join(tmp, 'all.png'), encodePng({ width: 64, height: 64, channels: 1, data: new Uint8Array(64 * 64).fill(255) }));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const loraDir = path.dirname(fixture('tiny-lora.safetensors'));
  const run = async (extra: string[], name: string) => {
    const io = captureIo();
    const argv = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--negative', 'blurry', '--width', '64', '--height', '64', '--steps', '3',
      '--seed', '5', '--sampler', 'euler', '--provider', 'cpu', '--precision', 'fp32', '--out', path.join(tmp, `${name}.png`), '--latents-out', path.join(tmp, `${name}.safetensors`), ...extra];
    const code = await main(argv, io);
    return { code, io, latents: () => { const f = openSafetensors(path.join(tmp, `${name}.safetensors`)); try { return f.readFloat32('latents'); } finally { f.close(); } } };
  };
  const regionsFile = (name: string, prompt: string) => {
    const file = path.join(tmp, name);
    writeFileSync(file, JSON.stringify([{ mask: 'all.png', prompt, feather: 4 }]));
    return file;
  };

  it('a whole-picture region with <lora:tiny-lora:1> gives the latents of the LoRA applied globally; the PNG keeps the tag', async () => {
    const global = await run(['--prompt', 'a red dragon', '--lora', `${fixture('tiny-lora.safetensors')}:1`], 'global');
    assert.equal(global.code, 0, global.io.stderr);
    const regional = await run(['--prompt', 'a castle', '--regions', regionsFile('whole.json', 'a red dragon <lora:tiny-lora:1>'), '--lora-dir', loraDir], 'regional');
    assert.equal(regional.code, 0, regional.io.stderr);
    const err = relativeError(regional.latents(), global.latents());
    assert.ok(err < 1e-5, `whole-picture region LoRA vs --lora: ${err}`);
    const plain = await run(['--prompt', 'a red dragon'], 'plain');
    assert.ok(relativeError(plain.latents(), global.latents()) > 1e-3, 'the LoRA must matter for this test to mean anything');
    const texts = extractChunks(readFileSync(path.join(tmp, 'regional.png'))).filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data));
    const regions = regionsFromPngText(texts.find((t) => t.keyword === REGIONS_PNG_KEYWORD)!.text);
    assert.deepEqual(regions.map((r) => r.prompt), ['a red dragon <lora:tiny-lora:1>']);
    // "Lora hashes" names the region's LoRA with the hash the --lora run wrote for the same file (A1111's LoRA hash)
    const loraHashes = (png: string) => {
      const parameters = extractChunks(readFileSync(path.join(tmp, png))).filter((c) => c.name === 'tEXt').map((c) => decodeText(c.data)).find((t) => t.keyword === 'parameters')!.text;
      return [...generationInfoFromText(parameters).loraHashes];
    };
    const expected = loraHashes('global.png');
    assert.equal(expected.length, 1);
    assert.match(expected[0][1], /^[0-9a-f]{12}$/);
    assert.deepEqual(loraHashes('regional.png'), expected);
  });

  it('an unknown LoRA name or a malformed tag in a region prompt is refused before anything runs, naming the region', async () => {
    const cases: [string, string[], RegExp][] = [
      ['a dragon <lora:no-such-lora:0.8>', ['--lora-dir', loraDir], /region 1 \("a dragon <lora:no-such-lora:0\.8>"\): <lora:no-such-lora> names no LoRA in .*sd15-tiny/],
      ['a dragon <lora:tiny-lora:0.8>', [], /<lora:tiny-lora> names no LoRA \(give --lora-dir DIR/],
      ['a dragon <lora:tiny-lora:strong>', ['--lora-dir', loraDir], /region 1 .*the weight in <lora:tiny-lora:strong> must be a number from -2 to 2/],
    ];
    for (const [i, [prompt, extra, message]] of cases.entries()) {
      const result = await run(['--prompt', 'x', '--regions', regionsFile(`bad-${i}.json`, prompt), ...extra], `bad-${i}`);
      assert.equal(result.code, 1, `case ${i}: ${result.io.stderr}`);
      assert.match(result.io.stderr, message, `case ${i}`);
      assert.doesNotMatch(result.io.stderr, /Seed/, 'nothing started');
    }
  });
});
