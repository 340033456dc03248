// `hintbrush generate --embeddings DIR --vae FILE` end to end, the engine in a child process as in the app:
// an embedding copying the token rows of some words gives the same latents and picture as the words, a VAE file
// holding the checkpoint's own VAE gives the same picture, a VAE whose decoder.conv_out.bias is shifted by
// delta per channel gives pixels shifted by delta / 2 (the output map (x + 1) / 2), and the PNG's A1111 text
// carries "TI hashes", "VAE" and "VAE hash" as A1111's own parser (test/support/a1111_infotext.py) reads them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ldmVaeTensors, writeVaeSafetensors } from '../engine/models/vae-file.test-support.ts';
import { tokenRows, writeA1111Pt, writeA1111Safetensors } from '../engine/pipeline/textual-inversion.test-support.ts';
import { fixture, fixtureFile } from '../engine/goldens.test-support.ts';
import { openSafetensors } from '../formats/safetensors.ts';
import { decodePng, readPngText } from '../formats/png.ts';
import { getClipTokenizer } from '../generation/tokenizer.ts';
import type { CliIo } from './command.ts';
import { main } from './hintbrush.ts';
import { a1111Read, hasA1111Reader, NO_A1111_READER } from '../generation/a1111-reader.test-support.ts';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const WORDS = 'a photo of a cat';
const DELTA = [0.1, -0.06, 0.16];

describe('hintbrush generate --embeddings and --vae', () => {
  let tmp: string;
  let vaeCopy: string;
  let vaeShifted: string;
  let embedding: string;
  const run = async (name: string, extra: string[], prompt = `${WORDS}, sunset`) => {
    const io = captureIo();
    const out = path.join(tmp, `${name}.png`);
    const latents = path.join(tmp, `${name}.safetensors`);
    const argv = [
      'generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', prompt, '--negative', 'blurry',
      '--width', '64', '--height', '64', '--steps', '3', '--seed', '5', '--sampler', 'ddim', '--provider', 'cpu', '--precision', 'fp32',
      '--out', out, '--latents-out', latents, ...extra,
    ];
    const code = await main(argv, io);
    assert.equal(code, 0, io.stderr);
    const file = openSafetensors(latents);
    try {
      const png = readFileSync(out);
      return { io, latents: file.readFloat32('latents'), pixels: decodePng(png).data, text: readPngText(png).parameters ?? '' };
    } finally {
      file.close();
    }
  };

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-ti-vae-'));
    const ckpt = fixtureFile('tiny-sd15.safetensors');
    const ids = getClipTokenizer().encode(WORDS);
    const { vectors, width } = tokenRows(ckpt, ids);
    mkdirSync(path.join(tmp, 'emb-a'));
    mkdirSync(path.join(tmp, 'emb-b', 'nested'), { recursive: true });
    embedding = path.join(tmp, 'emb-a', 'catphrase.pt');
    writeA1111Pt(embedding, vectors, ids.length, width, 'catphrase');
    // an SD2 embedding in the second folder: named and left out
    writeA1111Safetensors(path.join(tmp, 'emb-b', 'nested', 'sdtwoemb.safetensors'), new Float32Array(2 * 1024), 2, 1024);
    const vae = ldmVaeTensors(ckpt);
    vaeCopy = path.join(tmp, 'own-vae.safetensors');
    writeVaeSafetensors(vaeCopy, vae);
    vaeShifted = path.join(tmp, 'shifted-vae.safetensors');
    writeVaeSafetensors(vaeShifted, vae.map((t) => (t.name === 'decoder.conv_out.bias' ? { ...t, data: t.data.map((v, c) => v + DELTA[c]) } : t)));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('an embedding and a VAE file holding the checkpoint VAE give the words picture; the PNG records both as A1111 does', async (t) => {
    const words = await run('words', []);
    const viaFiles = await run('files', ['--embeddings', path.join(tmp, 'emb-a'), '--embeddings', path.join(tmp, 'emb-b'), '--vae', vaeCopy], 'catphrase, sunset, sdtwoemb');
    const wordsWithSd2Name = await run('words2', [], `${WORDS}, sunset, sdtwoemb`);
    assert.deepEqual(viaFiles.latents, wordsWithSd2Name.latents);
    assert.deepEqual(viaFiles.pixels, wordsWithSd2Name.pixels);
    assert.notDeepEqual(words.latents, wordsWithSd2Name.latents); // the SD2 name stayed words and changed the prompt
    assert.match(viaFiles.io.stderr, /Embedding sdtwoemb was left out: its vectors are 1024 wide \(SD2/);

    if (!hasA1111Reader) return t.skip(NO_A1111_READER);
    const { params } = a1111Read(viaFiles.text);
    assert.equal(params.Prompt, 'catphrase, sunset, sdtwoemb');
    assert.equal(params['TI hashes'], `catphrase: ${sha256(embedding).slice(0, 12)}`);
    assert.equal(params.VAE, 'own-vae.safetensors');
    assert.equal(params['VAE hash'], sha256(vaeCopy).slice(0, 10));
    assert.equal(words.text.includes('VAE'), false);
  });

  it('a VAE with decoder.conv_out.bias + delta shifts every unclamped pixel by delta / 2 (within 2/255)', async () => {
    const own = await run('own', ['--vae', vaeCopy]);
    const shifted = await run('shifted', ['--vae', vaeShifted]);
    assert.deepEqual(shifted.latents, own.latents);
    let checked = 0;
    let worst = 0;
    for (let i = 0; i < own.pixels.length; i++) {
      const before = own.pixels[i] / 255;
      const expected = before + DELTA[i % 3] / 2; // RGB interleaved
      if (own.pixels[i] <= 1 || own.pixels[i] >= 254 || expected <= 1 / 255 || expected >= 254 / 255) continue; // clamped
      worst = Math.max(worst, Math.abs(shifted.pixels[i] / 255 - expected));
      checked++;
    }
    assert.ok(checked > own.pixels.length / 4, `only ${checked} unclamped values`);
    assert.ok(worst <= 2 / 255, `largest deviation ${worst * 255}/255`);
  });

  it('a VAE that is not an SD1.5 VAE and a missing embeddings folder are refused with the reason', async () => {
    const lora = captureIo();
    const base = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'x', '--width', '64', '--height', '64', '--steps', '1', '--out', path.join(tmp, 'bad.png'), '--provider', 'cpu'];
    assert.equal(await main([...base, '--vae', fixture('tiny-lora.safetensors')], lora), 1);
    assert.match(lora.stderr, /tiny-lora\.safetensors is a lora model, but a standalone SD1\.5 VAE is needed here/);
    const folder = captureIo();
    assert.equal(await main([...base, '--embeddings', path.join(tmp, 'no-such-folder')], folder), 1);
    assert.match(folder.stderr, /embeddings folder not found: .*no-such-folder/);
  });
});
