// VAE decode of one latent to an image (the last step of every generation, and every live preview at full
// quality).

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildVaeDecoderGraph, detectVae } from '../../src-main/engine/models/vae.ts';
import { VAE_INFERENCE } from '../../src-main/engine/runtime/session.ts';
import { benchSession, pseudoRandom, runsFor, type Scenario, steadyRuns } from '../scenario.ts';

export const vaeDecode: Scenario = {
  name: 'vae-decode',
  title: 'VAE decode (warm)',
  headline: 'run_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const latent = model.vaeLatent;
    const file = openTensorFile(model.checkpoint);
    const factor = detectVae(file).downFactor;
    const { session, sessionMs, graph } = await benchSession((fusions) => ({ image: buildVaeDecoderGraph(file, { batch: 1, height: latent, width: latent, compute: opts.compute, ...fusions }).outputs.image }), opts, VAE_INFERENCE);
    const runs = runsFor(model, opts);
    const { warmupMs, runMs, bestMs, maxAbs } = await steadyRuns(session, { latent: pseudoRandom([1, 4, latent, latent], 3) }, runs);
    await session.release();
    file.close();
    const side = latent * factor;
    return {
      metrics: { session_ms: sessionMs, warmup_ms: warmupMs, run_ms: runMs, best_ms: bestMs },
      detail: `${graph}, batch 1, ${side}x${side} image, ${opts.compute}, median of ${runs}, max |out| ${maxAbs.toPrecision(3)}`,
    };
  },
};
