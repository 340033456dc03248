import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph } from '../graph/node.ts';
import { ModelSession, type TensorData } from '../runtime/session.ts';
import { adamwStep, adamwUpdate, type AdamWConfig } from './optimizer.ts';

const f32 = (shape: number[], values: number[]): TensorData => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

// torch.optim.AdamW's single-tensor step as its documentation writes it, in float64: the reference the graph
// must follow (step1/final goldens check it on real training; this checks it where updates are not tiny).
function torchAdamW(cfg: AdamWConfig, p: number[], g: number[], m: number[], v: number[], step: number, lr: number) {
  const [b1, b2] = cfg.betas;
  const bc1 = 1 - b1 ** step;
  const bc2 = 1 - b2 ** step;
  return p.map((pi, i) => {
    const decayed = pi * (1 - lr * cfg.weightDecay);
    m[i] = m[i] + (g[i] - m[i]) * (1 - b1);
    v[i] = v[i] * b2 + g[i] * g[i] * (1 - b2);
    return decayed - (lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + cfg.eps));
  });
}

test('AdamW in the graph follows torch.optim.AdamW over several steps (decoupled decay, bias correction from the step input)', async () => {
  const cfg: AdamWConfig = { lr: 0, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.05 };
  const g = new Graph();
  const [p, grad, m, v] = ['p', 'g', 'm', 'v'].map((n) => g.input(n, 'float32', [4]));
  const s = adamwStep(g, cfg, g.input('lr', 'float32', [1]), g.input('step', 'float32', [1]));
  const next = adamwUpdate(cfg, s, { param: p, m, v }, grad);
  const session = await ModelSession.create(emitOnnx({ p_out: next.param, m_out: next.m, v_out: next.v }), { providers: ['cpu'] });
  let param = [1, -0.5, 0.25, 2];
  let state = { m: [0, 0, 0, 0], v: [0, 0, 0, 0] };
  const ref = { p: [...param], m: [0, 0, 0, 0], v: [0, 0, 0, 0] };
  // the last parameter's first gradient is 0 with zero moments: only the decay moves it (no 0/0)
  const grads = [
    [0.5, -0.1, 1e-3, 0],
    [-0.3, -0.2, 2e-3, 1],
    [0.1, 0.4, -1e-3, -2],
  ];
  for (let step = 1; step <= 3; step++) {
    const lr = 0.1 / step;
    const out = await session.run({ p: f32([4], param), g: f32([4], grads[step - 1]), m: f32([4], state.m), v: f32([4], state.v), lr: f32([1], [lr]), step: f32([1], [step]) });
    param = [...(out.p_out.data as Float32Array)];
    state = { m: [...(out.m_out.data as Float32Array)], v: [...(out.v_out.data as Float32Array)] };
    ref.p = torchAdamW(cfg, ref.p, grads[step - 1], ref.m, ref.v, step, lr);
    param.forEach((x, i) => assert.ok(Math.abs(x - ref.p[i]) < 1e-6 * Math.max(1, Math.abs(ref.p[i])), `step ${step} p[${i}] ${x} vs ${ref.p[i]}`));
  }
  await session.release();
});
