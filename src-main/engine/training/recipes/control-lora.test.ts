import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffusersControlNetToLdm } from '../../models/key-layouts.ts';
import { controlNetView, detectControlNet } from '../../models/controlnet.ts';
import { fixtureFile, golden } from '../../goldens.test-support.ts';
import { describe, GRADIENT_TOLERANCE, OPTIMIZER_TOLERANCE, replayGoldens, type GoldenSource } from '../golden-training.test-support.ts';
import { buildControlLoraTraining, controlNetDiffusersNamer } from './control-lora.ts';

const T = 'training.safetensors';
const trainingGolden = (name: string) => golden(name, T).data;
const f32 = (shape: number[], data: Float32Array) => ({ dtype: 'float32' as const, shape, data });
const source = (): GoldenSource => ({
  file: T,
  prefix: 'control.',
  data: 'train.',
  steps: 12,
  extra: { hint: f32([2, 3, 128, 128], trainingGolden('train.hint')) },
  context: f32([2, 77, 32], trainingGolden('train.context')),
});
const shape = { batch: 2, height: 16, width: 16, tokens: 77 };
const build = () => buildControlLoraTraining(fixtureFile('tiny-sd15.safetensors'), fixtureFile('tiny-controlnet.safetensors'), { ...shape, rank: 4, alpha: 4 });

test('LDM -> diffusers ControlNet names invert key-layouts.ts on every tensor of the diffusers fixture', () => {
  const file = fixtureFile('tiny-controlnet-diffusers.safetensors');
  const view = diffusersControlNetToLdm(file);
  const cfg = detectControlNet(view, 'diffusers', '');
  const name = controlNetDiffusersNamer(cfg);
  const back = [...view.tensors.keys()].map((k) => name(k)).sort();
  assert.deepEqual(back, [...file.tensors.keys()].sort());
  const original = controlNetView(fixtureFile('tiny-controlnet.safetensors'));
  const cfg2 = detectControlNet(original.view, original.layout, original.prefix);
  assert.deepEqual([...original.view.tensors.keys()].map(controlNetDiffusersNamer(cfg2)).sort(), back);
});

test('control recipe: parameters are the names of training.json, with their shapes', () => {
  const tg = build();
  const expected = fixtureFile(T);
  const names = [...expected.tensors.keys()].filter((k) => k.startsWith('control.init.')).map((k) => k.slice('control.init.'.length)).sort();
  assert.deepEqual(tg.params.map((p) => p.name).sort(), names);
  for (const p of tg.params) assert.deepEqual(p.input.shape, expected.tensors.get(`control.init.${p.name}`)!.shape, p.name);
  // zero convs and norms start from the ControlNet file's values
  const initial = tg.initial();
  for (const p of tg.params.filter((q) => q.name.startsWith('controlnet.'))) {
    assert.deepEqual(initial.get(p.name), trainingGolden(`control.init.${p.name}`), p.name);
  }
});

test('control recipe reproduces loss0, grad.*, step1.*, losses and final.* (12 AdamW steps)', async (t) => {
  const e = await replayGoldens(build(), source());
  t.diagnostic(`control: ${describe(e)}`);
  assert.ok(e.loss0 < GRADIENT_TOLERANCE, `loss0 ${e.loss0}`);
  assert.ok(e.grad < GRADIENT_TOLERANCE, `grad ${e.grad}`);
  assert.ok(e.step1! < OPTIMIZER_TOLERANCE, `step1 ${e.step1}`);
  assert.ok(e.losses < OPTIMIZER_TOLERANCE, `losses ${e.losses}`);
  assert.ok(e.final < OPTIMIZER_TOLERANCE, `final ${e.final}`);
});

test('with recomputation from the UNet and ControlNet block outputs the control goldens still hold', async (t) => {
  const tg = build();
  assert.equal(tg.checkpoints.length, 25 + 13, 'UNet blocks, and the 13 ControlNet block outputs its zero convs read');
  const e = await replayGoldens(tg, source(), { recompute: true });
  t.diagnostic(`control, recomputed: ${describe(e)}`);
  assert.ok(e.grad < GRADIENT_TOLERANCE, `grad ${e.grad}`);
  assert.ok(e.final < OPTIMIZER_TOLERANCE, `final ${e.final}`);
});
