// `hintbrush train` end to end on the tiny fixtures, the engine in a child process as in the app: a folder of
// pictures with captions becomes a kohya LoRA (with a sample picture in the work folder); a ctrlora run without a
// base, and a folder without usable pictures, are refused with the reason.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openSafetensors } from '../formats/safetensors.ts';
import { fixture } from '../engine/goldens.test-support.ts';
import { makeDataset } from '../engine/training/training-data.test-support.ts';
import type { CliIo } from './command.ts';
import { main } from './hintbrush.ts';

function captureIo(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

test('hintbrush train --recipe style writes a kohya LoRA, prints progress and keeps samples in the work folder', async () => {
  const data = makeDataset(2, { size: [128, 128] });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cli-train-')), 'disc.safetensors');
  const io = captureIo();
  const code = await main(
    ['train', '--recipe', 'style', '--checkpoint', fixture('tiny-sd15.safetensors'), '--data', data, '--out', out, '--steps', '2', '--rank', '4', '--lr', '1e-3', '--resolution', '128', '--sample-every', '2', '--seed', '7', '--provider', 'cpu'],
    io,
  );
  assert.equal(code, 0, io.stderr);
  assert.match(io.stderr, /2 pictures, 2 steps, seed 7/);
  assert.match(io.stderr, /\[1\/2\] loss \d/);
  assert.match(io.stdout, /disc\.safetensors \(2 steps, final loss \d/);
  assert.ok(fs.existsSync(path.join(`${out}.work`, 'samples', '2.png')));
  const f = openSafetensors(out);
  try {
    assert.equal(f.metadata.ss_network_dim, '4');
    assert.equal(f.metadata.ss_network_alpha, '2');
    assert.equal(f.metadata.ss_resolution, '(128, 128)');
    assert.ok([...f.tensors.keys()].every((k) => k.startsWith('lora_unet_')));
  } finally {
    f.close();
  }
});

test('hintbrush train refuses a ctrlora run without a base and a folder without pictures', async () => {
  const io = captureIo();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-cli-train-'));
  assert.equal(await main(['train', '--recipe', 'ctrlora', '--checkpoint', fixture('tiny-sd15.safetensors'), '--data', dir, '--out', path.join(dir, 'x.safetensors')], io), 2);
  assert.match(io.stderr, /--base is required/);
  const io2 = captureIo();
  assert.equal(await main(['train', '--recipe', 'style', '--checkpoint', fixture('tiny-sd15.safetensors'), '--data', dir, '--out', path.join(dir, 'x.safetensors')], io2), 1);
  assert.match(io2.stderr, /no usable pictures/);
});
