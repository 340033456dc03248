// One UNet evaluation once the session is warm: the cost of every sampler step (batch 2 = the two CFG branches).

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildUnetGraph } from '../../src-main/engine/models/unet.ts';
import { benchSession, runsFor, type Scenario, steadyRuns, unetFeeds } from '../scenario.ts';

export const unetEval: Scenario = {
  name: 'unet-eval',
  title: 'UNet evaluation (warm)',
  headline: 'run_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const latent = model.unetLatent;
    const file = openTensorFile(model.checkpoint);
    const { session, sessionMs, graph } = await benchSession((fusions) => ({ eps: buildUnetGraph(file, { batch: 2, height: latent, width: latent, tokens: 77, compute: opts.compute, ...fusions }).eps }), opts);
    const runs = runsFor(model, opts);
    const { warmupMs, runMs, bestMs, maxAbs } = await steadyRuns(session, unetFeeds(model, latent), runs);
    await session.release();
    file.close();
    return {
      metrics: { session_ms: sessionMs, warmup_ms: warmupMs, run_ms: runMs, best_ms: bestMs },
      detail: `${graph}, batch 2, ${latent}x${latent} latents, ${opts.compute}, median of ${runs}, max |out| ${maxAbs.toPrecision(3)}`,
    };
  },
};
