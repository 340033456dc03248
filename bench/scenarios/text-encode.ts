// Text encoding of one 77-token chunk: paid again whenever the prompt changes.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import { buildClipTextGraph } from '../../src-main/engine/models/clip-text.ts';
import { cpuSession, runsFor, type Scenario, steadyRuns } from '../scenario.ts';

export const textEncode: Scenario = {
  name: 'text-encode',
  title: 'text encoding (warm)',
  headline: 'run_ms',
  models: ['tiny', 'full'],
  async run(model, opts) {
    const file = openTensorFile(model.checkpoint);
    const built = buildClipTextGraph(file, { batch: 1, compute: opts.compute });
    const { session, sessionMs } = await cpuSession({ hidden: built.outputs.hidden });
    // <start> "a photo of a cat" <end>, padded with <end> as SD1.5 pads.
    const ids = BigInt64Array.from({ length: 77 }, (_, i) => BigInt([49406, 320, 1125, 539, 320, 2368][i] ?? 49407));
    const runs = Math.max(runsFor(model, opts), 3);
    const { warmupMs, runMs, bestMs, maxAbs } = await steadyRuns(session, { input_ids: { dtype: 'int64', shape: [1, 77], data: ids } }, runs);
    await session.release();
    file.close();
    return {
      metrics: { session_ms: sessionMs, warmup_ms: warmupMs, run_ms: runMs, best_ms: bestMs },
      detail: `1 x 77 tokens, ${built.cfg.layers} layers x ${built.cfg.width}, ${opts.compute}, median of ${runs}, max |out| ${maxAbs.toPrecision(3)}`,
    };
  },
};
