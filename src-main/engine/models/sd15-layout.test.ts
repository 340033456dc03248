import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openSafetensors } from '../../formats/safetensors.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { fixtureFile } from '../goldens.test-support.ts';
import { randomTensorValues, writeRandomCheckpoint } from './random-checkpoint.test-support.ts';
import {
  checkpointLayout,
  clipTextLayout,
  controlNetLayout,
  layoutElements,
  type LayoutTensor,
  SD15_ARCH,
  TINY_ARCH,
  unetLayout,
  vaeLayout,
} from './sd15-layout.test-support.ts';

/** name -> "dtype [shape]" for a file, and the same for a layout (F32 fixtures; position_ids is I64). */
function describeFile(file: TensorFile): Map<string, string> {
  return new Map([...file.tensors].map(([k, e]) => [k, `[${e.shape.join(',')}]`]));
}
function describeLayout(layout: readonly LayoutTensor[]): Map<string, string> {
  return new Map(layout.map((t) => [t.name, `[${t.shape.join(',')}]`]));
}

/** Count of values differing by more than `tolerance` (a count, so a failure does not print megabytes). */
function mismatches(actual: Float32Array, expected: Float32Array, tolerance: number): number {
  assert.equal(actual.length, expected.length);
  let n = 0;
  for (let i = 0; i < expected.length; i++) if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) n++;
  return n;
}

function assertSameKeys(file: TensorFile, layout: readonly LayoutTensor[]): void {
  const actual = describeFile(file);
  const generated = describeLayout(layout);
  assert.equal(generated.size, layout.length, 'the layout names a tensor twice');
  const missing = [...actual.keys()].filter((k) => !generated.has(k));
  const extra = [...generated.keys()].filter((k) => !actual.has(k));
  const wrong = [...actual].filter(([k, s]) => generated.has(k) && generated.get(k) !== s).map(([k, s]) => `${k}: file ${s}, layout ${generated.get(k)}`);
  assert.deepEqual({ missing, extra, wrong }, { missing: [], extra: [], wrong: [] });
}

test('the tiny architecture generates exactly the keys and shapes of tiny-sd15.safetensors', () => {
  const file = fixtureFile('tiny-sd15.safetensors');
  assertSameKeys(file, checkpointLayout(TINY_ARCH));
  assert.equal(file.tensors.get('cond_stage_model.transformer.text_model.embeddings.position_ids')?.dtype, 'I64');
});

test('the tiny ControlNet layout is exactly tiny-controlnet.safetensors, and with a prefix tiny-controlnet-b', () => {
  assertSameKeys(fixtureFile('tiny-controlnet.safetensors'), controlNetLayout(TINY_ARCH.unet));
  assertSameKeys(fixtureFile('tiny-controlnet-b.safetensors'), controlNetLayout(TINY_ARCH.unet, { prefix: 'control_model.' }));
});

test('the SD1.5 architecture has the published parameter counts of its three models', () => {
  // diffusers' UNet2DConditionModel, AutoencoderKL and transformers' CLIPTextModel for runwayml/stable-diffusion-v1-5.
  assert.equal(layoutElements(unetLayout(SD15_ARCH.unet)), 859_520_964);
  assert.equal(layoutElements(vaeLayout(SD15_ARCH.vae)), 83_653_863);
  assert.equal(layoutElements(clipTextLayout(SD15_ARCH.clip)) - 77, 123_060_480); // less the position_ids buffer
  const cn = controlNetLayout(SD15_ARCH.unet);
  assert.equal(cn.filter((t) => t.name.startsWith('zero_convs.')).length, 2 * 12);
  assert.deepEqual(cn.find((t) => t.name === 'input_hint_block.14.weight')?.shape, [320, 256, 3, 3]);
  const inpaint = unetLayout({ ...SD15_ARCH.unet, inChannels: 9 });
  assert.deepEqual(inpaint.find((t) => t.name.endsWith('input_blocks.0.0.weight'))?.shape, [320, 9, 3, 3]);
});

test('the hint encoder widths scale by hintScale', () => {
  const cn = controlNetLayout(TINY_ARCH.unet, { hintScale: 0.5, hintChannels: 1 });
  const widths = [0, 2, 4, 6, 8, 10, 12, 14].map((i) => cn.find((t) => t.name === `input_hint_block.${i}.weight`)!.shape.slice(0, 2));
  assert.deepEqual(widths, [[8, 1], [8, 8], [16, 8], [16, 16], [48, 16], [48, 48], [128, 48], [32, 128]]);
});

test('writeRandomCheckpoint writes a readable file whose values do not depend on the stored dtype', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hintbrush-layout-'));
  try {
    const layout = checkpointLayout(TINY_ARCH);
    const files = {
      f32: path.join(dir, 'f32.safetensors'),
      bf16: path.join(dir, 'bf16.safetensors'),
      f16: path.join(dir, 'f16.safetensors'),
    };
    let progress = 0;
    const written = writeRandomCheckpoint(files.f32, layout, 'F32', 5, { roundAs: 'BF16', metadata: { format: 'pt' }, onProgress: (done) => (progress = done) });
    writeRandomCheckpoint(files.bf16, layout, 'BF16', 5);
    writeRandomCheckpoint(files.f16, layout, 'F16', 5, { roundAs: 'BF16' });
    assert.equal(fs.statSync(files.f32).size, written.bytes);
    assert.equal(progress, written.bytes);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['bf16.safetensors', 'f16.safetensors', 'f32.safetensors'], 'no temporary file is left');
    const opened = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, openSafetensors(f)]));
    try {
      assertSameKeys(opened.f32, layout);
      assert.equal(opened.f32.metadata.format, 'pt');
      assert.equal(opened.bf16.tensors.get('model.diffusion_model.out.2.weight')?.dtype, 'BF16');
      assert.equal(opened.f16.tensors.get('model.diffusion_model.out.2.weight')?.dtype, 'F16');
      // The token embedding (1.58M values) spans two write chunks; a 3x3 conv and norms are checked too.
      for (const name of [
        'cond_stage_model.transformer.text_model.embeddings.token_embedding.weight',
        'model.diffusion_model.input_blocks.4.0.in_layers.2.weight',
        'first_stage_model.decoder.mid.attn_1.norm.weight',
        'first_stage_model.decoder.mid.attn_1.norm.bias',
        'cond_stage_model.transformer.text_model.embeddings.position_ids',
      ]) {
        const expected = randomTensorValues(layout.find((t) => t.name === name)!, 5, 'BF16');
        assert.equal(mismatches(opened.f32.readFloat32(name), expected, 0), 0, `${name} in F32`);
        assert.equal(mismatches(opened.bf16.readFloat32(name), expected, 0), 0, `${name} in BF16`);
        // F16 holds every BF16 value exactly except below 2^-14, where its subnormals round to 2^-24 steps.
        assert.equal(mismatches(opened.f16.readFloat32(name), expected, 2 ** -25), 0, `${name} in F16`);
      }
    } finally {
      for (const f of Object.values(opened)) f.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('random values have the init scale: weights ~ 1/sqrt(fan_in), norms 1 and 0, another seed differs', () => {
  const layout = unetLayout(TINY_ARCH.unet);
  const conv = layout.find((t) => t.name.endsWith('output_blocks.2.0.in_layers.2.weight'))!; // fan_in 128 x 9
  const v = randomTensorValues(conv, 1);
  let sum = 0;
  let squares = 0;
  let max = 0;
  for (const x of v) {
    sum += x;
    squares += x * x;
    max = Math.max(max, Math.abs(x));
  }
  const std = Math.sqrt(squares / v.length);
  assert.ok(Math.abs(std * Math.sqrt(conv.fanIn) - 1) < 0.02, `std ${std} for fan_in ${conv.fanIn}`);
  assert.ok(Math.abs(sum / v.length) < 0.05 * std);
  assert.ok(max < 3.5 * std, 'values are bounded (no extreme outliers)');
  assert.notDeepEqual(randomTensorValues(conv, 2), v);
  const norm = layout.find((t) => t.init === 'norm-weight')!;
  assert.ok(randomTensorValues(norm, 1).every((x) => x === 1));
  assert.ok(randomTensorValues(layout.find((t) => t.init === 'norm-bias')!, 1).every((x) => x === 0));
});
