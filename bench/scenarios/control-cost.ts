// What each kind of control adds to one sampler step (batch 2, the CFG branches, 512x512): a ControlNet (its
// pass + the UNet taking residuals), a ControlNet-XS (the fused two-stream UNet), one CtrLoRA condition (a Base
// ControlNet pass with its LoRA + the UNet) and two (both conditions in one graph sharing the base's weights),
// against the plain UNet, with each model's parameter count. Sessions are built, warmed and released in turn.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import type { TensorFile } from '../../src-main/formats/tensor-file.ts';
import { buildCnxsUnetGraph } from '../../src-main/engine/models/cnxs.ts';
import { buildControlNetGraph } from '../../src-main/engine/models/controlnet.ts';
import { buildCtrLoraMixGraph } from '../../src-main/engine/models/ctrlora.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from '../../src-main/engine/models/unet.ts';
import type { Node } from '../../src-main/engine/graph/node.ts';
import type { Fusions } from '../../src-main/engine/runtime/fusions.ts';
import type { ModelSession, TensorData } from '../../src-main/engine/runtime/session.ts';
import { benchSession, median, pseudoRandom, runsFor, timed, unetFeeds, type Scenario } from '../scenario.ts';

const one = (v: number): TensorData => ({ dtype: 'float32', shape: [1], data: Float32Array.of(v) });
const params = (f: TensorFile) => [...f.tensors.values()].reduce((a, e) => a + e.shape.reduce((x, y) => x * y, 1), 0);
const millions = (n: number) => `${(n / 1e6).toFixed(1)}M`;

async function timeRuns(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(fn))[1]);
  return median(times);
}

export const controlCost: Scenario = {
  name: 'control-cost',
  title: 'cost of one ControlNet, one ControlNet-XS, one and two CtrLoRA conditions per step',
  headline: 'plain_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const L = model.unetLatent;
    const runs = runsFor(model, opts);
    const files: TensorFile[] = [];
    const open = (p: string) => {
      const f = openTensorFile(p);
      files.push(f);
      return f;
    };
    const checkpoint = open(model.checkpoint);
    const feeds = unetFeeds(model, L);
    const hint = pseudoRandom([2, 3, L * 8, L * 8], 4, 1);
    const shape = { batch: 2, height: L, width: L, tokens: 77, compute: opts.compute };
    const release: ModelSession[] = [];
    const session = async (build: (fusions: Fusions) => Record<string, Node>) => {
      const s = (await benchSession(build, opts)).session;
      release.push(s);
      return s;
    };
    const done = async () => {
      for (const s of release.splice(0)) await s.release();
    };
    try {
      const plain = await session((f) => ({ eps: buildUnetGraph(checkpoint, { ...shape, ...f }).eps }));
      const plainMs = await timeRuns(() => plain.run(feeds), runs);
      await done();

      const controlled = await session((f) => ({ eps: buildUnetGraph(checkpoint, { ...shape, ...f, withControl: true }).eps }));
      const withResiduals = (residuals: Record<string, TensorData>) => controlled.run({ ...feeds, ...Object.fromEntries(CONTROL_INPUT_NAMES(13).map((n) => [n, residuals[n]])) });
      const cnFile = open(model.controlNet);
      const cn = await session((f) => {
        const cnBuilt = buildControlNetGraph(cnFile, { ...shape, ...f, contextDim: model.contextDim });
        return Object.fromEntries(cnBuilt.residuals.map((r, i) => [CONTROL_INPUT_NAMES(13)[i], r]));
      });
      const cnMs = await timeRuns(async () => withResiduals(await cn.run({ ...feeds, hint, strength: one(1) })), runs);

      const base = open(model.ctrloraBase);
      const conds = model.ctrloraConditions.map(open);
      const mixFeeds = (n: number) => {
        const f: Record<string, TensorData> = { timestep: feeds.timestep, context: feeds.context, strength: one(1) };
        for (let i = 0; i < n; i++) [f[`latent_${i}`], f[`weight_${i}`]] = [pseudoRandom([2, 4, L, L], 10 + i, 1), one(0.6)];
        return f;
      };
      const ctr1 = await session((f) => buildCtrLoraMixGraph(base, conds.slice(0, 1), { ...shape, ...f, contextDim: model.contextDim, names: 'indexed' }).outputs);
      const ctr1Ms = await timeRuns(async () => withResiduals(await ctr1.run(mixFeeds(1))), runs);
      const ctr2 = await session((f) => buildCtrLoraMixGraph(base, conds, { ...shape, ...f, contextDim: model.contextDim, names: 'indexed' }).outputs);
      const ctr2Ms = await timeRuns(async () => withResiduals(await ctr2.run(mixFeeds(2))), runs);
      await done();

      const xsFile = open(model.cnxs);
      const xs = await session((f) => ({ eps: buildCnxsUnetGraph(checkpoint, xsFile, { ...shape, ...f }).eps }));
      const xsMs = await timeRuns(() => xs.run({ ...feeds, hint, weight: one(1) }), runs);
      await done();

      const ratio = (ms: number) => `${(ms / plainMs).toFixed(2)}x`;
      const unetParams = [...checkpoint.tensors].filter(([k]) => k.startsWith('model.diffusion_model.')).reduce((a, [, e]) => a + e.shape.reduce((x, y) => x * y, 1), 0);
      return {
        metrics: { plain_ms: plainMs, controlnet_ms: cnMs, cnxs_ms: xsMs, ctrlora1_ms: ctr1Ms, ctrlora2_ms: ctr2Ms },
        detail:
          `per step (batch 2, ${L * 8}px, ${opts.compute}, median of ${runs}): ControlNet ${ratio(cnMs)}, ControlNet-XS ${ratio(xsMs)}, CtrLoRA x1 ${ratio(ctr1Ms)}, x2 ${ratio(ctr2Ms)} of the plain UNet; ` +
          `parameters: UNet ${millions(unetParams)}, ControlNet ${millions(params(cnFile))}, ControlNet-XS ${millions(params(xsFile))}, CtrLoRA base ${millions(params(base))} + condition ${millions(params(conds[0]))}`,
      };
    } finally {
      await done();
      for (const f of files) f.close();
    }
  },
};
