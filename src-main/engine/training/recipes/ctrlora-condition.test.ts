import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutPrefix } from '../../models/key-layouts.ts';
import { fixtureFile, golden } from '../../goldens.test-support.ts';
import { describe, GRADIENT_TOLERANCE, OPTIMIZER_TOLERANCE, replayGoldens, type GoldenSource } from '../golden-training.test-support.ts';
import { buildCtrLoraTraining } from './ctrlora-condition.ts';

const C = 'control.safetensors';
const f32 = (shape: number[], data: Float32Array) => ({ dtype: 'float32' as const, shape, data });
const shape = { batch: 2, height: 32, width: 32, tokens: 77 };
// The goldens' starting condition, seen as a condition file (keys `control_model.*`).
const initialCondition = () => withoutPrefix(fixtureFile(C), 'ctrlora.train.init.');
const build = () => buildCtrLoraTraining(fixtureFile('tiny-sd15.safetensors'), fixtureFile('tiny-ctrlora-base.safetensors'), initialCondition(), shape);

function source(context: Float32Array): GoldenSource {
  return { file: C, prefix: 'ctrlora.train.', data: 'ctrlora.train.', steps: 8, extra: { latent: f32([2, 4, 32, 32], golden('ctrlora.train.latent', C).data) }, context: f32([2, 77, 32], context) };
}

test('ctrlora recipe: parameters are the release key names of control.json ctrlora_train', () => {
  const tg = build();
  const names = [...fixtureFile(C).tensors.keys()].filter((k) => k.startsWith('ctrlora.train.init.')).map((k) => k.slice('ctrlora.train.init.'.length));
  assert.deepEqual(tg.params.map((p) => p.name).sort(), names.sort());
});

test('a new condition without a file starts from the base\'s own layout: same parameters, LoRA up factors zero', () => {
  const tg = buildCtrLoraTraining(fixtureFile('tiny-sd15.safetensors'), fixtureFile('tiny-ctrlora-base.safetensors'), null, shape);
  assert.deepEqual(tg.params.map((p) => p.name).sort(), build().params.map((p) => p.name).sort());
  const initial = tg.initial();
  for (const [name, value] of initial) {
    if (name.endsWith('lora_layer.up.weight')) assert.ok(value.every((v) => v === 0), name);
    if (name.endsWith('lora_layer.down.weight')) assert.ok(value.some((v) => v !== 0), name);
  }
});

// The ctrlora goldens were computed with the text context of the module goldens (unet.context); train.context
// gives a loss 1e-3 away.
test('ctrlora recipe reproduces loss0, grad.*, losses and final.* (8 AdamW steps)', async (t) => {
  const e = await replayGoldens(build(), source(golden('unet.context').data));
  t.diagnostic(`ctrlora: ${describe(e)}`);
  assert.ok(e.loss0 < GRADIENT_TOLERANCE, `loss0 ${e.loss0}`);
  assert.ok(e.grad < GRADIENT_TOLERANCE, `grad ${e.grad}`);
  assert.ok(e.losses < OPTIMIZER_TOLERANCE, `losses ${e.losses}`);
  assert.ok(e.final < OPTIMIZER_TOLERANCE, `final ${e.final}`);
});
