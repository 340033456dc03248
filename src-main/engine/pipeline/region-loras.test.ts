// Region prompts through `generate`, beyond plain text: a LoRA tied to a region covering the whole picture gives the
// latents of that LoRA applied globally with the region's prompt (UNet and text encoder, exact but for float
// summation order); an embedding named in a region prompt encodes as the words it copies; a negative prompt with
// prompt editing pads each region against the text it encodes at each step, so a whole-picture region equals the
// main prompt run with that schedule; region prompts may use prompt editing themselves.
// The masked deltas at block level are checked against float64 in models/region-lora.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { fixture, fixtureFile, relativeError } from '../goldens.test-support.ts';
import { generate, type GenerateRequest } from './generate.ts';
import { ModelRuntime } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';
import type { ControlUnit } from './control-units.ts';
import { readTextualInversion } from './textual-inversion.ts';
import { tokenRows, writeA1111Safetensors } from './textual-inversion.test-support.ts';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { goldenRequest, paintedRegion } from './golden-request.test-support.ts';

const runtime = new ModelRuntime('float32', ['cpu']);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hb-region-lora-'));
after(async () => {
  await runtime.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

const SIZE = 64;
const OTHER = 'a castle on a hill at dusk, oil painting';
const LORA = fixture('tiny-lora.safetensors');

function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return goldenRequest({ width: SIZE, height: SIZE, steps: 4, cfg: 7.5, seed: 7, sampler: 'euler', ...overrides });
}

function region(f: (x: number, y: number) => number, prompt: string, extra: Partial<RegionRequest> = {}): RegionRequest {
  return paintedRegion(SIZE, f, prompt, extra);
}

test('a whole-picture region with a LoRA gives the latents of that LoRA applied globally with the region prompt', async () => {
  const loras = [{ path: LORA, strength: 1 }];
  const global = await generate(runtime, request({ prompt: OTHER, loras }));
  const regional = await generate(runtime, request({ regions: [region(() => 1, `${OTHER} <lora:tiny-lora:1>`, { feather: 10, loras })] }));
  const err = relativeError(regional.latents.data, global.latents.data);
  assert.ok(err < 1e-5, `whole-picture region LoRA vs global LoRA: ${err}`);
  const withoutLora = await generate(runtime, request({ prompt: OTHER }));
  assert.ok(relativeError(withoutLora.latents.data, global.latents.data) > 1e-3, 'the LoRA must change the picture for this test to mean anything');
  // the main prompt's LoRAs still act in the region too: global LoRA at 0.5 + region LoRA at 0.5 = global at 1
  const split = await generate(runtime, request({ loras: [{ path: LORA, strength: 0.5 }], regions: [region(() => 1, OTHER, { loras: [{ path: LORA, strength: 0.5 }] })] }));
  const splitErr = relativeError(split.latents.data, global.latents.data);
  assert.ok(splitErr < 1e-5, `global 0.5 + region 0.5 vs global 1: ${splitErr}`);
});

test('with a ControlNet and a ControlNet-XS (whose fused UNet takes the LoRAs), a whole-picture region LoRA still equals the global LoRA', async () => {
  const hint = { shape: [1, 3, SIZE, SIZE], data: Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => ((i % SIZE) > SIZE / 2 ? 1 : 0)) };
  const controls: ControlUnit[] = [
    { kind: 'controlnet', path: fixture('tiny-controlnet.safetensors'), image: hint, weight: 0.8, start: 0, end: 1 },
    { kind: 'cnxs', path: fixture('tiny-cnxs.ckpt'), image: hint, weight: 0.8, start: 0, end: 1 },
  ];
  const loras = [{ path: LORA, strength: 0.9 }];
  const global = await generate(runtime, request({ controls, prompt: OTHER, loras }));
  const regional = await generate(runtime, request({ controls, regions: [region(() => 1, OTHER, { loras })] }));
  const err = relativeError(regional.latents.data, global.latents.data);
  assert.ok(err < 1e-5, `with control units: ${err}`);
});

test('a LoRA with conv and timestep-MLP layers: the timestep MLP is left out with a note, the rest acts as globally', async () => {
  // Written here: kohya modules on a ResBlock's convs, a downsampler, and the timestep MLP. (A time-embedding projection
  // would add a constant per channel, which the tiny UNet's one-channel GroupNorm groups cancel; region-lora.test.ts
  // checks its masked delta at block level instead.)
  const f = fixtureFile('tiny-sd15.safetensors');
  const p = 'model.diffusion_model.';
  const shape = (k: string) => f.tensors.get(p + k)!.shape;
  const lowRank = (name: string, weight: readonly number[], i: number) => {
    const [out, inn, ...kernel] = weight;
    const down = [4, inn, ...kernel];
    const up = kernel.length ? [out, 4, 1, 1] : [out, 4];
    const vals = (n: number, seed: number) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * 3.1 + seed) * 0.2);
    return [
      { name: `${name}.lora_down.weight`, dtype: 'F32' as const, shape: down, data: vals(down.reduce((a, b) => a * b), i) },
      { name: `${name}.lora_up.weight`, dtype: 'F32' as const, shape: up, data: vals(up.reduce((a, b) => a * b), i + 7) },
      { name: `${name}.alpha`, dtype: 'F32' as const, shape: [], data: Float32Array.of(4) },
    ];
  };
  const placed = [
    ...lowRank('lora_unet_down_blocks_0_resnets_0_conv1', shape('input_blocks.1.0.in_layers.2.weight'), 1),
    ...lowRank('lora_unet_down_blocks_0_resnets_0_conv2', shape('input_blocks.1.0.out_layers.3.weight'), 2),
    ...lowRank('lora_unet_down_blocks_0_downsamplers_0_conv', shape('input_blocks.3.0.op.weight'), 4),
  ];
  const timeMlp = lowRank('lora_unet_time_embedding_linear_1', shape('time_embed.0.weight'), 5);
  const full = path.join(dir, 'conv-full.safetensors');
  const withoutMlp = path.join(dir, 'conv-placed.safetensors');
  writeSafetensors(full, [...placed, ...timeMlp]);
  writeSafetensors(withoutMlp, placed);
  const global = await generate(runtime, request({ prompt: OTHER, loras: [{ path: withoutMlp, strength: 1 }] }));
  const regional = await generate(runtime, request({ regions: [region(() => 1, OTHER, { feather: 3, loras: [{ path: full, strength: 1 }] })] }));
  const err = relativeError(regional.latents.data, global.latents.data);
  assert.ok(err < 1e-6, `whole-picture region conv LoRA vs its placed layers globally: ${err}`);
  assert.ok(relativeError((await generate(runtime, request({ prompt: OTHER }))).latents.data, global.latents.data) > 1e-3, 'the LoRA must matter');
  assert.ok(regional.messages.some((m) => /conv-full\.safetensors in a region: its 1 timestep-embedding layer\(s\) .* left out inside the region/.test(m)), regional.messages.join('\n'));
});

test('an embedding in a region prompt encodes as the words it copies', async () => {
  const tokenizer = getClipTokenizer();
  const words = 'a photo of a cat';
  const ids = tokenizer.encode(words);
  const { vectors, width } = tokenRows(fixtureFile('tiny-sd15.safetensors'), ids);
  const file = path.join(dir, 'regioncat.safetensors');
  writeA1111Safetensors(file, vectors, ids.length, width);
  const e = readTextualInversion(file);
  const left = (x: number) => (x < SIZE / 2 ? 1 : 0);
  const viaWords = await generate(runtime, request({ regions: [region(left, `${words}, sunset`, { feather: 6 })] }));
  const viaEmbedding = await generate(runtime, request({ embeddings: [e], regions: [region(left, `regioncat, sunset`, { feather: 6 })] }));
  assert.deepEqual(viaEmbedding.latents.data, viaWords.latents.data);
  assert.deepEqual(viaEmbedding.embeddingsUsed.map((u) => u.name), ['regioncat']);
  const unknown = await generate(runtime, request({ regions: [region(left, `regioncat, sunset`, { feather: 6 })] }));
  assert.ok(relativeError(unknown.latents.data, viaWords.latents.data) > 1e-4, 'without the embedding its name is plain words');
  // an embedding for another text encoder, named only in a region prompt, is left out with a note as in the main prompt
  const wide = path.join(dir, 'widetwo.safetensors');
  writeA1111Safetensors(wide, new Float32Array(1024), 1, 1024);
  const other = await generate(runtime, request({ embeddings: [e, readTextualInversion(wide)], regions: [region(left, 'widetwo, sunset')] }));
  assert.deepEqual(other.messages.filter((m) => /widetwo was left out: its vectors are 1024 wide/.test(m)).length, 1, other.messages.join('\n'));
});

test('a negative with prompt editing: each step pads the region against what the negative encodes then', async () => {
  // The second half's negative is longer than one chunk, so the padding of the region changes at that step.
  const long = Array.from({ length: 90 }, (_, i) => `word${i % 10}`).join(' ');
  const negative = `[blurry:${long}:0.5]`;
  const alone = await generate(runtime, request({ prompt: OTHER, negative }));
  const regional = await generate(runtime, request({ negative, regions: [region(() => 1, OTHER, { feather: 4 })] }));
  const err = relativeError(regional.latents.data, alone.latents.data);
  assert.ok(err < 1e-6, `whole-picture region with a scheduled negative vs its prompt alone: ${err}`);
});

test('a region prompt may use prompt editing: a whole-picture region equals its prompt run alone', async () => {
  const prompt = `[${OTHER}:a forest of pines, snow:0.25]`;
  const alone = await generate(runtime, request({ prompt }));
  const regional = await generate(runtime, request({ regions: [region(() => 1, prompt)] }));
  const err = relativeError(regional.latents.data, alone.latents.data);
  assert.ok(err < 1e-6, `scheduled region prompt vs alone: ${err}`);
  const first = await generate(runtime, request({ prompt: OTHER }));
  assert.ok(relativeError(first.latents.data, alone.latents.data) > 1e-5, 'the schedule must matter for this test to mean anything');
});
