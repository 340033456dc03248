// Bad input reaches the engine as a clear error naming the file and the problem, never a crash: an unsupported
// family, the wrong kind of model for a role, a hostile pickle, a missing tensor, a tensor of the wrong shape.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { writeSafetensors } from '../../formats/safetensors.ts';
import { fixture } from '../goldens.test-support.ts';
import { writeRandomCheckpoint } from '../models/random-checkpoint.test-support.ts';
import { checkpointLayout, TINY_ARCH } from '../models/sd15-layout.test-support.ts';
import { generate, type GenerateRequest } from './generate.ts';
import { ModelRuntime } from './model-runtime.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'hintbrush-errors-'));
const runtime = new ModelRuntime('float32', ['cpu']);
after(async () => {
  await runtime.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const request = (checkpoint: string, extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  checkpoint,
  prompt: 'a cat',
  negative: '',
  width: 64,
  height: 64,
  steps: 2,
  cfg: 7,
  seed: 1,
  sampler: 'ddim',
  clipSkip: 1,
  controls: [],
  loras: [],
  ...extra,
});

const zeros = (...shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

test('an SDXL checkpoint is refused with its family named', async () => {
  const file = path.join(dir, 'some model XL.safetensors');
  writeSafetensors(file, [
    { name: 'model.diffusion_model.input_blocks.0.0.weight', ...zeros(8, 4, 3, 3) },
    { name: 'model.diffusion_model.label_emb.0.0.weight', ...zeros(8, 12) },
    { name: 'conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', ...zeros(10, 4) },
    { name: 'conditioner.embedders.1.model.token_embedding.weight', ...zeros(10, 4) },
  ]);
  await assert.rejects(generate(runtime, request(file)), /some model XL\.safetensors: this is an SDXL checkpoint; Hintbrush runs SD1\.5-family models/);
});

test('a LoRA given as the checkpoint, and a checkpoint given as a ControlNet, are named as the wrong kind', async () => {
  await assert.rejects(generate(runtime, request(fixture('tiny-lora.safetensors'))), /tiny-lora\.safetensors is a lora model, but an SD1\.5 checkpoint is needed/);
  const image = { shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) };
  await assert.rejects(
    generate(runtime, request(fixture('tiny-sd15.safetensors'), { controls: [{ kind: 'controlnet', path: fixture('tiny-sd15.safetensors'), image, weight: 1, start: 0, end: 1 }] })),
    /tiny-sd15\.safetensors is a checkpoint model, but a ControlNet is needed/,
  );
});

test('a hostile pickle given as a ControlNet is refused and runs nothing', async () => {
  const image = { shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) };
  const before = existsSync('/tmp/HINTBRUSH_PWNED');
  await assert.rejects(
    generate(runtime, request(fixture('tiny-sd15.safetensors'), { controls: [{ kind: 'controlnet', path: fixture('hostile-os-system.ckpt'), image, weight: 1, start: 0, end: 1 }] })),
    /hostile-os-system\.ckpt: refuses to load/,
  );
  assert.equal(existsSync('/tmp/HINTBRUSH_PWNED'), before, 'the pickle ran nothing');
});

test('a checkpoint missing a tensor names the file and the tensor', async () => {
  const file = path.join(dir, 'missing.safetensors');
  const layout = checkpointLayout(TINY_ARCH).filter((t) => t.name !== 'model.diffusion_model.output_blocks.4.1.transformer_blocks.0.attn2.to_k.weight');
  writeRandomCheckpoint(file, layout, 'F32', 3);
  await assert.rejects(generate(runtime, request(file)), /missing\.safetensors.*output_blocks\.4\.1\.transformer_blocks\.0\.attn2\.to_k\.weight/);
});

test('a tensor of the wrong shape names the weight and both shapes', async () => {
  const file = path.join(dir, 'wrong-shape.safetensors');
  const layout = checkpointLayout(TINY_ARCH).map((t) =>
    t.name === 'model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight' ? { ...t, shape: [64, 48] } : t,
  );
  writeRandomCheckpoint(file, layout, 'F32', 4);
  await assert.rejects(generate(runtime, request(file)), /attn2\.to_k\.weight.*\[64,48\]|\[64,48\].*attn2\.to_k/);
});
