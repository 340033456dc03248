// What regional prompts cost per sampler step (batch 2, the CFG branches): the UNet with 1, 2 and 4 regions
// (each adds one text attention, keys and values at every cross-attention layer; no extra UNet pass) against
// the plain UNet. Region weights are fed as the engine feeds them: one mask input per attention size.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildUnetGraph } from '../../src-main/engine/models/unet.ts';
import { REGION_MASK_PREFIX, regionContextInputName } from '../../src-main/engine/models/regional-attention.ts';
import type { TensorData } from '../../src-main/engine/runtime/session.ts';
import { benchSession, median, pseudoRandom, runsFor, timed, unetFeeds, type Scenario } from '../scenario.ts';

/** Main + regions sharing each position equally (the cost does not depend on the weights). */
function regionFeeds(inputNames: readonly string[], regions: number, contextDim: number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  for (let i = 0; i < regions; i++) feeds[regionContextInputName(i)] = pseudoRandom([2, 77, contextDim], 10 + i);
  for (const name of inputNames.filter((n) => n.startsWith(REGION_MASK_PREFIX))) {
    const [h, w] = name.slice(REGION_MASK_PREFIX.length).split('x').map(Number);
    const shape = [regions + 1, 2, h, w];
    feeds[name] = { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1 / (regions + 1)) };
  }
  return feeds;
}

export const regionCost: Scenario = {
  name: 'region-cost',
  title: 'cost of 1, 2 and 4 regional prompts per UNet step, relative to plain',
  headline: 'regions4_ratio',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const L = model.unetLatent;
    const runs = runsFor(model, opts);
    const file = openTensorFile(model.checkpoint);
    const base = unetFeeds(model, L);
    const metrics: Record<string, number> = {};
    let graphs = '';
    try {
      for (const regions of [0, 1, 2, 4]) {
        const regionTokens = Array.from({ length: regions }, () => 77);
        const { session, graph } = await benchSession(
          (f) => ({ eps: buildUnetGraph(file, { batch: 2, height: L, width: L, tokens: 77, compute: opts.compute, ...f, regionTokens }).eps }),
          opts,
        );
        graphs ||= graph;
        const feeds = { ...base, ...regionFeeds(session.model.inputNames, regions, model.contextDim) };
        await session.run(feeds);
        const times: number[] = [];
        for (let i = 0; i < runs; i++) times.push((await timed(() => session.run(feeds)))[1]);
        await session.release();
        const ms = median(times);
        if (regions === 0) metrics.plain_ms = ms;
        else {
          metrics[`regions${regions}_ms`] = ms;
          metrics[`regions${regions}_ratio`] = ms / metrics.plain_ms;
        }
      }
    } finally {
      file.close();
    }
    return { metrics, detail: `${graphs}, batch 2, ${L}x${L} latents, ${opts.compute}, 77-token region prompts, median of ${runs}` };
  },
};
