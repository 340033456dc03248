// Detection of every fixture file, and of synthetic headers for the families no fixture covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTensorFile } from '../formats/open-tensor-file.ts';
import { detectModel, type Detection } from './detect.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/sd15-tiny');

function detectFile(file: string): Detection {
  const opened = openTensorFile(file);
  try {
    return detectModel(opened);
  } finally {
    opened.close();
  }
}

function fixture(name: string): Detection {
  return detectFile(path.join(FIXTURES, name));
}

function expectKind(d: Detection, kind: Detection['kind'], layout: string, family = 'sd15'): void {
  assert.equal(d.kind, kind, JSON.stringify(d));
  assert.equal(d.layout, layout, JSON.stringify(d));
  assert.equal(d.family, family, JSON.stringify(d));
}

test('tiny-sd15 is an SD1.5 checkpoint, told from SD2 by structure though its context width is 32', () => {
  const d = fixture('tiny-sd15.safetensors');
  expectKind(d, 'checkpoint', 'ldm');
  assert.equal(d.problem, '');
  assert.equal(d.details.modelChannels, 32);
  assert.equal(d.details.inChannels, 4);
  assert.equal(d.details.inpainting, 'no');
  assert.equal(d.details.contextWidth, 32);
  assert.equal(d.details.textWidth, 32);
  assert.equal(d.details.textLayers, 2);
  assert.equal(d.details.vae, 'included');
  assert.equal(d.details.dtype, 'F32');
  assert.equal(d.details.format, 'safetensors');
  assert.equal(d.details.tensors, 965);
  // parameter count: every value of every tensor, counted independently of the detector from the raw header
  const raw = fs.readFileSync(path.join(FIXTURES, 'tiny-sd15.safetensors'));
  const header = JSON.parse(raw.subarray(8, 8 + Number(raw.readBigUInt64LE(0))).toString()) as Record<string, { shape?: number[] }>;
  const expected = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .reduce((sum, [, t]) => sum + t.shape!.reduce((a, b) => a * b, 1), 0);
  assert.equal(d.details.parameters, expected);
});

test('ControlNets in every layout and container are controlnets', () => {
  const cases: [string, string, string][] = [
    ['tiny-controlnet.safetensors', 'original', 'F16'],
    ['tiny-controlnet-b.safetensors', 'original:control_model.', 'F16'],
    ['tiny-controlnet-diffusers.safetensors', 'diffusers', 'F32'],
    ['tiny-controlnet.ckpt', 'original', 'F16'],
    ['tiny-controlnet-b.pth', 'original:control_model.', 'F16'],
  ];
  for (const [name, layout, dtype] of cases) {
    const d = fixture(name);
    expectKind(d, 'controlnet', layout);
    assert.equal(d.problem, '', name);
    assert.equal(d.details.hintChannels, 3, name);
    assert.equal(d.details.modelChannels, 32, name);
    assert.equal(d.details.contextWidth, 32, name);
    assert.equal(d.details.zeroConvs, 13, name); // 12 input zero convs + the middle block's
    assert.equal(d.details.dtype, dtype, name);
  }
  assert.equal(fixture('tiny-controlnet.ckpt').details.format, 'torch-zip');
});

test('tiny-lora is a kohya LoRA of rank 4, alpha 2, on UNet and text encoder', () => {
  const d = fixture('tiny-lora.safetensors');
  expectKind(d, 'lora', 'kohya');
  assert.equal(d.problem, '');
  assert.equal(d.details.rank, 4);
  assert.equal(d.details.alpha, 2);
  assert.equal(d.details.targets, 'unet+text-encoder');
  assert.equal(d.details.textEncoderModules, 12); // 2 layers x (q, k, v, out, fc1, fc2)
  assert.equal(d.details.dtype, 'F16');
});

test('CtrLoRA base ControlNets and condition LoRAs', () => {
  for (const name of ['tiny-ctrlora-base.ckpt', 'tiny-ctrlora-base.safetensors']) {
    const d = fixture(name);
    expectKind(d, 'ctrlora-base', 'original:control_model.');
    assert.equal(d.problem, '');
    assert.equal(d.details.modelChannels, 32, name);
    assert.equal(d.details.pretrainLoraRank, 4, name);
  }
  for (const name of ['tiny-ctrlora-edge.ckpt', 'tiny-ctrlora-edge.safetensors', 'tiny-ctrlora-blob.ckpt']) {
    const d = fixture(name);
    expectKind(d, 'ctrlora-lora', 'original:control_model.');
    assert.equal(d.problem, '');
    assert.equal(d.details.rank, 4, name);
    assert.equal(d.details.zeroConvs, 13, name);
  }
});

test('tiny-cnxs is a ControlNet-XS with a control stream as wide as the base (ratio 1.0)', () => {
  const d = fixture('tiny-cnxs.ckpt');
  expectKind(d, 'cnxs', 'original:control_model.');
  assert.equal(d.problem, '');
  assert.equal(d.details.controlChannels, 32);
  assert.equal(d.details.baseChannels, 32);
  assert.equal(d.details.widthRatio, 1);
  assert.equal(d.details.hintChannels, 3);
});

test('golden tensor files are unknown, although they hold LoRA-like names deeper inside', () => {
  for (const name of ['reference.safetensors', 'training.safetensors', 'control.safetensors']) {
    const d = fixture(name);
    assert.equal(d.kind, 'unknown', name);
    assert.match(d.problem, /not a model Hintbrush recognises/);
  }
});

test('hostile pickles are refused by the reader before detection, and nothing runs', () => {
  const marker = '/tmp/HINTBRUSH_PWNED';
  const before = fs.existsSync(marker);
  for (const name of ['hostile-eval.ckpt', 'hostile-os-system.ckpt', 'hostile-subprocess.ckpt']) {
    assert.throws(() => fixture(name), (e: Error & { kind?: string }) => e.kind === 'hostile', name);
  }
  if (!before) assert.ok(!fs.existsSync(marker), 'no code from the pickle ran');
});

test('detection ignores the file name: a LoRA named like a ControlNet is a LoRA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-detect-'));
  const misnamed = path.join(dir, 'control_sd15_canny.safetensors');
  fs.copyFileSync(path.join(FIXTURES, 'tiny-lora.safetensors'), misnamed);
  expectKind(detectFile(misnamed), 'lora', 'kohya');
  const ckptNamedSafetensors = path.join(dir, 'sdxl-base.safetensors');
  fs.copyFileSync(path.join(FIXTURES, 'tiny-controlnet.ckpt'), ckptNamedSafetensors);
  expectKind(detectFile(ckptNamedSafetensors), 'controlnet', 'original');
});
