import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openTensorFile } from '../../formats/open-tensor-file.ts';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';
import { fixture, fixtureFile, golden, MODULE_TOLERANCE, relativeError, unetFeeds } from '../goldens.test-support.ts';
import { buildControlNetGraph } from './controlnet.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from './unet.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';

const f32 = (shape: readonly number[], data: Float32Array): TensorData => ({ dtype: 'float32', shape, data });

async function residuals(file: TensorFile, hint: Float32Array, strength: number): Promise<Float32Array[]> {
  const { residuals: outs } = buildControlNetGraph(file, { batch: 2, height: 32, width: 32, tokens: 77, contextDim: 32 });
  const names = CONTROL_INPUT_NAMES(outs.length);
  const session = await ModelSession.create(emitOnnx(Object.fromEntries(outs.map((o, i) => [names[i], o]))), { providers: ['cpu'] });
  const result = await session.run({ ...unetFeeds(), hint: f32([2, 3, 256, 256], hint), strength: f32([1], Float32Array.of(strength)) });
  await session.release();
  return names.map((n) => result[n].data as Float32Array);
}

async function unetWithControl(control: Float32Array[]): Promise<Float32Array> {
  const { eps, graph } = buildUnetGraph(fixtureFile('tiny-sd15.safetensors'), { batch: 2, height: 32, width: 32, tokens: 77, withControl: true });
  const session = await ModelSession.create(emitOnnx({ eps }), { providers: ['cpu'] });
  const names = CONTROL_INPUT_NAMES(control.length);
  const feeds: Record<string, TensorData> = { ...unetFeeds() };
  graph.inputs.forEach((input) => {
    const i = names.indexOf(String(input.attrs.name));
    if (i >= 0) feeds[names[i]] = f32(input.shape, control[i]);
  });
  const out = await session.run(feeds);
  await session.release();
  return out.eps.data as Float32Array;
}

const hint = () => golden('cn.hint').data;

for (const [label, name] of [
  ['original layout (fp16 safetensors)', 'tiny-controlnet.safetensors'],
  ['diffusers layout', 'tiny-controlnet-diffusers.safetensors'],
  ['original layout (.ckpt pickle)', 'tiny-controlnet.ckpt'],
] as const) {
  test(`ControlNet residuals match cn.down.* and cn.mid: ${label}`, async () => {
    const file = openTensorFile(fixture(name));
    const res = await residuals(file, hint(), 0.8);
    res.forEach((r, i) => {
      const ref = golden(i === 12 ? 'cn.mid' : `cn.down.${i}`).data;
      const err = relativeError(r, ref);
      assert.ok(err < MODULE_TOLERANCE, `${name} residual ${i} error ${err}`);
    });
    file.close();
  });
}

test('UNet with one ControlNet reproduces cn.eps; two ControlNets summed reproduce cn2.eps (.pth for the second)', async () => {
  const a = await residuals(fixtureFile('tiny-controlnet.safetensors'), hint(), 0.8);
  const eps1 = await unetWithControl(a);
  assert.ok(relativeError(eps1, golden('cn.eps').data) < MODULE_TOLERANCE, `cn.eps error ${relativeError(eps1, golden('cn.eps').data)}`);
  const inverse = hint().map((v) => 1 - v);
  const pth = openTensorFile(fixture('tiny-controlnet-b.pth'));
  const b = await residuals(pth, Float32Array.from(inverse), 0.5);
  pth.close();
  const summed = a.map((r, i) => r.map((v, j) => v + b[i][j]));
  const eps2 = await unetWithControl(summed);
  const err = relativeError(eps2, golden('cn2.eps').data);
  assert.ok(err < MODULE_TOLERANCE, `cn2.eps error ${err}`);
});
