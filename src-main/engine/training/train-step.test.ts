import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureFile, golden } from '../testing/goldens.ts';
import { goldenInitial, groupError, stepData, type GoldenSource } from './golden-training.ts';
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

async function firstStep(recipe: Partial<StyleLoraOptions>, opts: TrainStepOptions, before?: (s: TrainSession) => void) {
  const tg = buildStyleLoraTraining(fixtureFile('tiny-sd15.safetensors'), { ...shape, ...recipe });
  const session = await TrainSession.create(tg, { ...opts, initial: goldenInitial(tg, source()), outputGradients: true, session: { providers: ['cpu'] } });
  before?.(session);
  try {
    const result = await session.step(stepData(source(), 0));
    return { result, session, names: tg.params.map((p) => p.name), checkpoints: tg.checkpoints.length };
  } finally {
    await session.release();
  }
}

test('recomputing activations from the UNet block outputs gives the same gradients and update', async (t) => {
  const plain = await firstStep({}, {});
  const recomputed = await firstStep({}, { recompute: true });
  assert.equal(recomputed.checkpoints, 25, 'conv_in, 11 input blocks, the middle block and 12 output blocks');
  const err = groupError(plain.names.map((n) => [recomputed.result.grads!.get(n)!, plain.result.grads!.get(n)!]));
  const params = groupError(plain.names.map((n) => [recomputed.session.state.params.get(n)!, plain.session.state.params.get(n)!]));
  t.diagnostic(`recompute vs plain: gradients ${err.toExponential(2)}, parameters after one step ${params.toExponential(2)}`);
  assert.ok(err < 1e-5, `gradients differ by ${err}`);
  assert.equal(recomputed.result.loss, plain.result.loss);
});

test('float16 forward/backward with float32 master weights and loss scaling: finite gradients close to float32', async (t) => {
  const fp16 = await firstStep({ compute: 'float16' }, { lossScaling: true });
  assert.ok(fp16.result.applied, 'no overflow at the default scale');
  const grads = fp16.names.map((n) => fp16.result.grads!.get(n)!);
  assert.ok(grads.every((g) => g.every(Number.isFinite)), 'finite gradients');
  const err = groupError(fp16.names.map((n, i) => [grads[i], golden(`style.grad.${n}`, T).data]));
  const loss = Math.abs(fp16.result.loss - golden('style.loss0', T).data[0]) / golden('style.loss0', T).data[0];
  t.diagnostic(`fp16 vs fp32 goldens: gradients ${err.toExponential(2)}, loss ${loss.toExponential(2)}`);
  assert.ok(err < 2e-2, `fp16 gradients off by ${err}`);
  assert.ok(loss < 1e-2, `fp16 loss off by ${loss}`);
  assert.equal(fp16.session.state.step, 1);
});

test('an overflowing loss scale raises found_inf: nothing is updated, the step is skipped, the scale halves', async () => {
  const run = await firstStep({ compute: 'float16' }, { lossScaling: true }, (s) => (s.scaler!.scale = 1e30));
  assert.equal(run.result.applied, false);
  assert.equal(run.session.state.step, 0);
  assert.equal(run.session.scaler!.scale, 5e29);
  const initial = golden(`style.init.${run.names[0]}`, T).data;
  assert.deepEqual(run.session.state.params.get(run.names[0]), initial);
  assert.ok(run.session.state.m.get(run.names[0])!.every((v) => v === 0));
});
