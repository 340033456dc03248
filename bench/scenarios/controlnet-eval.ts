// One ControlNet evaluation once warm: its 13 residuals for a batch of 2, what each ControlNet adds to a step.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildControlNetGraph } from '../../src-main/engine/models/controlnet.ts';
import { CONTROL_INPUT_NAMES } from '../../src-main/engine/models/unet.ts';
import { benchSession, pseudoRandom, runsFor, type Scenario, steadyRuns, unetFeeds } from '../scenario.ts';

export const controlNetEval: Scenario = {
  name: 'controlnet-eval',
  title: 'ControlNet evaluation (warm)',
  headline: 'run_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const latent = model.unetLatent;
    const file = openTensorFile(model.controlNet);
    const { session, sessionMs, graph } = await benchSession((fusions) => {
      const built = buildControlNetGraph(file, { batch: 2, height: latent, width: latent, tokens: 77, contextDim: model.contextDim, compute: opts.compute, ...fusions });
      const names = CONTROL_INPUT_NAMES(built.residuals.length);
      return Object.fromEntries(built.residuals.map((r, i) => [names[i], r]));
    }, opts);
    const feeds = {
      ...unetFeeds(model, latent),
      hint: pseudoRandom([2, 3, latent * 8, latent * 8], 4, 1),
      strength: { dtype: 'float32' as const, shape: [1], data: Float32Array.of(1) },
    };
    const runs = runsFor(model, opts);
    const { warmupMs, runMs, bestMs, maxAbs } = await steadyRuns(session, feeds, runs);
    await session.release();
    file.close();
    return {
      metrics: { session_ms: sessionMs, warmup_ms: warmupMs, run_ms: runMs, best_ms: bestMs },
      detail: `${graph}, batch 2, ${latent}x${latent} latents, ${latent * 8}px hint, ${opts.compute}, median of ${runs}, max |out| ${maxAbs.toPrecision(3)}`,
    };
  },
};
