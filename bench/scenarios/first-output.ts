// Checkpoint to first output: what an artist waits for after picking a model. Opens the file (header only),
// builds the UNet graph from its weights, emits ONNX, creates the CPU session and runs one evaluation.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildUnetGraph } from '../../src-main/engine/models/unet.ts';
import { benchSession, checkFinite, type Scenario, timed, unetFeeds } from '../scenario.ts';

export const firstOutput: Scenario = {
  name: 'first-output',
  title: 'checkpoint to first UNet output',
  headline: 'total_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const latent = model.unetLatent;
    const [file, openMs] = await timed(() => openTensorFile(model.checkpoint));
    const { session, buildMs, sessionMs, graph } = await benchSession((fusions) => ({ eps: buildUnetGraph(file, { batch: 2, height: latent, width: latent, tokens: 77, compute: opts.compute, ...fusions }).eps }), opts);
    const [out, runMs] = await timed(() => session.run(unetFeeds(model, latent)));
    const maxAbs = checkFinite(out);
    await session.release();
    file.close();
    return {
      metrics: { open_ms: openMs, build_emit_ms: buildMs, session_ms: sessionMs, first_run_ms: runMs, total_ms: openMs + buildMs + sessionMs + runMs },
      detail: `${graph}, UNet batch 2, ${latent}x${latent} latents, ${opts.compute}, max |out| ${maxAbs.toPrecision(3)}`,
    };
  },
};
