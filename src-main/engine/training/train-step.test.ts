import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureFile, golden } from '../goldens.test-support.ts';
import { goldenInitial, groupError, stepData, type GoldenSource } from './golden-training.test-support.ts';
import { buildStyleLoraTraining, type StyleLoraOptions } from './recipes/style-lora.ts';
import { TrainSession, type TrainStepOptions } from './train-step.ts';

const T = 'training.safetensors';
const source = (): GoldenSource => ({
  file: T,
  prefix: 'style.',
  data: 'train.',
  steps: 12,
  extra: {},
  context: { dtype: 'float32', shape: [2, 77, 32], data: golden('train.context', T).data },
});
const shape: StyleLoraOptions = { batch: 2, height: 16, width: 16, tokens: 77, rank: 4, alpha: 2 };

async function firstStep(recipe: Partial<StyleLoraOptions>, opts: TrainStepOptions) {
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, ...recipe });
  const session = await TrainSession.create(tg, { ...opts, initial: goldenInitial(tg, source()), outputGradients: true, session: { providers: ['cpu'] } });
  try {
    const result = await session.step(stepData(source(), 0));
    return { result, state: await session.readState(), names: tg.params.map((p) => p.name), checkpoints: tg.checkpoints.length };
  } finally {
    await session.release();
  }
}

test('recomputing activations from the UNet block outputs gives the same gradients and update', async (t) => {
  const plain = await firstStep({}, {});
  const recomputed = await firstStep({}, { recompute: true });
  assert.equal(recomputed.checkpoints, 25, 'conv_in, 11 input blocks, the middle block and 12 output blocks');
  const err = groupError(plain.names.map((n) => [recomputed.result.grads!.get(n)!, plain.result.grads!.get(n)!]));
  const params = groupError(plain.names.map((n) => [recomputed.state.params.get(n)!, plain.state.params.get(n)!]));
  t.diagnostic(`recompute vs plain: gradients ${err.toExponential(2)}, parameters after one step ${params.toExponential(2)}`);
  assert.ok(err < 1e-5, `gradients differ by ${err}`);
  assert.equal(recomputed.result.loss, plain.result.loss);
});

test('float16 with float32 master weights and loss scaling: an overflow skips the step, then finite gradients close to float32', async (t) => {
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, compute: 'float16' });
  const session = await TrainSession.create(tg, { lossScaling: true, initial: goldenInitial(tg, source()), outputGradients: true, session: { providers: ['cpu'] } });
  const names = tg.params.map((p) => p.name);
  try {
    // A scale fp16 cannot hold raises found_inf: nothing is updated, the step count stays, the scale halves.
    session.scaler!.scale = 1e30;
    const overflow = await session.step(stepData(source(), 0));
    assert.equal(overflow.applied, false);
    const kept = await session.readState();
    assert.equal(kept.step, 0);
    assert.equal(session.scaler!.scale, 5e29);
    assert.deepEqual(kept.params.get(names[0]), golden(`style.init.${names[0]}`, T).data);
    assert.ok(kept.m.get(names[0])!.every((v) => v === 0));

    session.scaler!.scale = 65536;
    const result = await session.step(stepData(source(), 0));
    assert.ok(result.applied, 'no overflow at 2^16');
    assert.equal(session.updates, 1);
    const grads = names.map((n) => result.grads!.get(n)!);
    assert.ok(grads.every((g) => g.every(Number.isFinite)), 'finite gradients');
    const err = groupError(names.map((n, i) => [grads[i], golden(`style.grad.${n}`, T).data]));
    const loss0 = golden('style.loss0', T).data[0];
    const lossErr = Math.abs(result.loss - loss0) / loss0;
    t.diagnostic(`fp16 vs fp32 goldens: gradients ${err.toExponential(2)}, loss ${lossErr.toExponential(2)}`);
    assert.ok(err < 2e-2, `fp16 gradients off by ${err}`);
    assert.ok(lossErr < 1e-2, `fp16 loss off by ${lossErr}`);
  } finally {
    await session.release();
  }
});
