// `hintbrush generate` with hints tied to regions (`:region=N` ending a --control or --ctrlora unit, N counting the
// --regions file from 0), end to end with the engine in a child process: a tie to a whole-picture region gives
// the untied latents and a tie to half of the picture does not; N counts the file's entries, skipped empty ones
// included (the request renumbers), a hint tied to an empty region is skipped with a note; the PNG's chunk lists
// each region's hints by their A1111 names. Bad ties are refused before anything runs, naming the unit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSafetensors } from '../formats/safetensors.ts';
import { encodePng, readPngText } from '../formats/png.ts';
import { fixture, relativeError } from '../engine/goldens.test-support.ts';
import { REGIONS_PNG_KEYWORD } from '../common/regions-contract.ts';
import { parseUnitSpec } from './generate-args.ts';
import { main } from './hintbrush.ts';

function captureIo() {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

const W = 96;
const H = 64;
const grey = (f: (x: number) => number) => encodePng({ width: W, height: H, channels: 1, data: Uint8Array.from({ length: W * H }, (_, i) => f(i % W)) });

describe('hintbrush generate: hints tied to a region', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-region-hints-'));
    writeFileSync(path.join(tmp, 'none.png'), grey(() => 0));
    writeFileSync(path.join(tmp, 'all.png'), grey(() => 255));
    writeFileSync(path.join(tmp, 'left.png'), grey((x) => (x < 48 ? 255 : 0)));
    writeFileSync(path.join(tmp, 'hint.png'), encodePng({ width: W, height: H, channels: 3, data: Uint8Array.from({ length: 3 * W * H }, (_, i) => ((i / 3) % 11 < 2 ? 255 : 0)) }));
    writeFileSync(
      path.join(tmp, 'regions.json'),
      JSON.stringify([
        { mask: 'none.png', prompt: 'nothing' },
        { mask: 'all.png', prompt: 'a red dragon', feather: 6 },
        { mask: 'left.png', prompt: 'a castle', feather: 4 },
      ]),
    );
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cn = (region?: number) => `${fixture('tiny-controlnet.safetensors')}:${path.join(tmp, 'hint.png')}:1${region === undefined ? '' : `:region=${region}`}`;
  const run = async (extra: string[], name: string) => {
    const io = captureIo();
    const argv = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'a landscape', '--width', String(W), '--height', String(H), '--steps', '2', '--seed', '9',
      '--sampler', 'euler', '--provider', 'cpu', '--precision', 'fp32', '--regions', path.join(tmp, 'regions.json'), '--out', path.join(tmp, `${name}.png`), '--latents-out', path.join(tmp, `${name}.safetensors`), ...extra];
    const code = await main(argv, io);
    assert.equal(code, 0, io.stderr);
    const f = openSafetensors(path.join(tmp, `${name}.safetensors`));
    try {
      return { io, latents: f.readFloat32('latents'), png: readFileSync(path.join(tmp, `${name}.png`)) };
    } finally {
      f.close();
    }
  };

  it('region=N counts the file: a whole-picture tie is the untied run, a half-picture tie is not; the PNG names the ties', async () => {
    const untied = await run(['--control', cn()], 'untied');
    const whole = await run(['--control', cn(1)], 'whole');
    assert.deepEqual(whole.latents, untied.latents);
    const half = await run(['--control', cn(2), '--ctrlora-base', fixture('tiny-ctrlora-base.safetensors'), '--ctrlora', `${fixture('tiny-ctrlora-edge.safetensors')}:${path.join(tmp, 'hint.png')}:0.8:region=0`], 'half');
    assert.ok(relativeError(half.latents, untied.latents) > 1e-3, 'the tie to the left half changes the picture');
    assert.match(half.io.stderr, /Note: --ctrlora ".*tiny-ctrlora-edge\.safetensors:.*hint\.png:0\.8:region=0": region \[0\] is skipped \(empty mask\), so this hint is skipped too/);
    const text = readPngText(half.png);
    assert.match(text.parameters ?? '', /ControlNet 0: "Module: none, Model: tiny-controlnet \[[0-9a-f]{8}\], Weight: 1, Guidance Start: 0, Guidance End: 1, Resize Mode: Crop and Resize"/);
    assert.doesNotMatch(text.parameters ?? '', /CtrLoRA/);
    const chunk = JSON.parse(text[REGIONS_PNG_KEYWORD] ?? '') as { version: number; regions: { prompt: string; hints?: string[] }[] };
    assert.equal(chunk.version, 2);
    assert.deepEqual(chunk.regions.map((r) => [r.prompt, r.hints]), [['a red dragon', undefined], ['a castle', ['ControlNet 0']]]);
  });

  it('a ControlNet-XS ties too: a whole-picture tie is the untied run, a half-picture tie is not; the PNG names it', async () => {
    const xs = (region?: number) => `${fixture('tiny-cnxs.ckpt')}:${path.join(tmp, 'hint.png')}:1${region === undefined ? '' : `:region=${region}`}`;
    const untied = await run(['--cnxs', xs()], 'xs-untied');
    const whole = await run(['--cnxs', xs(1)], 'xs-whole');
    assert.ok(relativeError(whole.latents, untied.latents) < 1e-6, `whole picture: ${relativeError(whole.latents, untied.latents)}`);
    const half = await run(['--cnxs', xs(2)], 'xs-half');
    assert.ok(relativeError(half.latents, untied.latents) > 1e-3, 'the tie to the left half changes the picture');
    const chunk = JSON.parse(readPngText(half.png)[REGIONS_PNG_KEYWORD] ?? '') as { regions: { prompt: string; hints?: string[] }[] };
    assert.deepEqual(chunk.regions.map((r) => [r.prompt, r.hints]), [['a red dragon', undefined], ['a castle', ['ControlNet-XS 0']]]);
  });

  it('a bad tie is refused before anything runs, naming the unit and the part', async () => {
    const cases: [string[], RegExp][] = [
      [['--control', cn(3)], /--control ".*hint\.png:1:region=3": region=3, but the --regions file lists 3 \(0 to 2\)/],
      [['--control', `${cn()}:region=two`], /--control: region=N takes a region's place in the --regions file counting from 0, not "two"/],
    ];
    for (const [i, [extra, message]] of cases.entries()) {
      const io = captureIo();
      const out = path.join(tmp, `bad-${i}.png`);
      const argv = ['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'x', '--out', out, '--regions', path.join(tmp, 'regions.json'), ...extra];
      assert.equal(await main(argv, io), 2, `case ${i}: a usage error: ${io.stderr}`);
      assert.match(io.stderr, message, `case ${i}`);
      assert.equal(existsSync(out), false);
    }
    const io = captureIo();
    assert.equal(await main(['generate', '--checkpoint', fixture('tiny-sd15.safetensors'), '--prompt', 'x', '--out', path.join(tmp, 'n.png'), '--control', cn(0)], io), 2);
    assert.match(io.stderr, /--control ".*": region=0 needs --regions FILE\.json/);
  });

  it('the unit syntax: region=N ends the unit, after the weight or the step range', () => {
    assert.deepEqual(parseUnitSpec('cn.safetensors:hint.png:0.5:region=2', '--control'), { file: 'cn.safetensors', image: 'hint.png', weight: 0.5, start: 0, end: 1, region: 2 });
    assert.deepEqual(parseUnitSpec('C:\\m\\cn.safetensors:h.png:1:0.2:0.8:region=0', '--control'), { file: 'C:\\m\\cn.safetensors', image: 'h.png', weight: 1, start: 0.2, end: 0.8, region: 0 });
    assert.deepEqual(parseUnitSpec('cn.safetensors:hint.png:1', '--control'), { file: 'cn.safetensors', image: 'hint.png', weight: 1, start: 0, end: 1 });
    assert.throws(() => parseUnitSpec('cn.safetensors:hint.png:region=1', '--control'), /--control takes FILE:IMAGE:WEIGHT\[:START:END\]\[:region=N\]/);
    assert.throws(() => parseUnitSpec('cn.safetensors:hint.png:1:region=-1', '--control'), /region=N takes a region's place .* not "-1"/);
  });
});
