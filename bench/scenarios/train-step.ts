// One training step (forward, backward and AdamW in one graph, as TrainSession runs it) for each recipe, with and
// without recomputation, at 512x512 (64x64 latents), batch 1, against a forward pass of the same network at the
// same size: the ratio is what training costs over inference. Each variant is its own scenario, so the child
// process's peak memory is that variant's. The LoRA rank is kohya's usual 16 (style) and 16 for the condition.

import { openTensorFile } from '../../src-main/formats/open-tensor-file.ts';
import type { TensorFile } from '../../src-main/formats/tensor-file.ts';
import { buildCtrLoraGraph } from '../../src-main/engine/models/ctrlora.ts';
import { buildUnetGraph, CONTROL_INPUT_NAMES } from '../../src-main/engine/models/unet.ts';
import type { TensorData } from '../../src-main/engine/runtime/session.ts';
import { Trainer } from '../../src-main/engine/training/trainer.ts';
import { normalRandom } from '../../src-main/engine/training/trainable-lora.ts';
import { cpuSession, median, now, pseudoRandom, runsFor, timed, type BenchModel, type BenchOptions, type Scenario, type ScenarioResult } from '../scenario.ts';

const LATENT = 64; // 512 x 512 pixels
const RANK = 16;

/** The forward pass training differentiates: the UNet (batch 1), after the Base ControlNet for ctrlora. */
async function forwardMs(model: BenchModel, recipe: 'style' | 'ctrlora', compute: BenchOptions['compute'], runs: number): Promise<number> {
  const checkpoint = openTensorFile(model.checkpoint);
  const files: TensorFile[] = [checkpoint];
  try {
    const feeds = { sample: pseudoRandom([1, 4, LATENT, LATENT], 1), timestep: { dtype: 'float32' as const, shape: [1], data: Float32Array.of(500) }, context: pseudoRandom([1, 77, model.contextDim], 2) };
    const unet = buildUnetGraph(checkpoint, { batch: 1, height: LATENT, width: LATENT, tokens: 77, compute, withControl: recipe === 'ctrlora' });
    const u = await cpuSession({ eps: unet.eps });
    let control: Awaited<ReturnType<typeof cpuSession>> | null = null;
    if (recipe === 'ctrlora') {
      const base = openTensorFile(model.ctrloraBase);
      const cond = openTensorFile(model.ctrloraConditions[0]);
      files.push(base, cond);
      const built = buildCtrLoraGraph(base, cond, { batch: 1, height: LATENT, width: LATENT, tokens: 77, contextDim: model.contextDim, compute });
      control = await cpuSession(built.outputs);
    }
    const once = async () => {
      const extra: Record<string, TensorData> = {};
      if (control) {
        const out = await control.session.run({
          timestep: feeds.timestep,
          context: feeds.context,
          latent: pseudoRandom([1, 4, LATENT, LATENT], 3),
          strength: { dtype: 'float32', shape: [1], data: Float32Array.of(1) },
          weight: { dtype: 'float32', shape: [1], data: Float32Array.of(1) },
        });
        CONTROL_INPUT_NAMES(13).forEach((n) => (extra[n] = out[n]));
      }
      await u.session.run({ ...feeds, ...extra });
    };
    await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push((await timed(once))[1]);
    await u.session.release();
    await control?.session.release();
    return median(times);
  } finally {
    for (const f of files) f.close();
  }
}

function trainStepScenario(recipe: 'style' | 'ctrlora', recompute: boolean): Scenario {
  return {
    name: `train-${recipe}${recompute ? '-recompute' : ''}`,
    title: `training step, ${recipe === 'style' ? 'style LoRA' : 'CtrLoRA condition'}${recompute ? ', recomputed activations' : ''}`,
    headline: 'step_ms',
    models: ['tiny', 'full'],
    async run(model, opts): Promise<ScenarioResult> {
      const runs = runsFor(model, opts);
      const forward = await forwardMs(model, recipe, opts.compute, runs);
      const checkpoint = openTensorFile(model.checkpoint);
      const base = recipe === 'ctrlora' ? openTensorFile(model.ctrloraBase) : null;
      const normal = normalRandom(1);
      const n = 4 * LATENT * LATENT;
      const values = (count: number) => Float32Array.from({ length: count }, normal);
      const item = {
        bucket: { width: LATENT * 8, height: LATENT * 8 },
        latent: values(n),
        latentFlip: values(n),
        cond: recipe === 'ctrlora' ? values(n) : null,
        condFlip: recipe === 'ctrlora' ? values(n) : null,
        context: values(77 * model.contextDim),
        ids: new Int32Array(77),
      };
      const trainer = new Trainer(
        { recipe, checkpoint, base, rank: RANK, alpha: RANK / 2, lr: 1e-4, batch: 1, seed: 1, textEncoder: false, recompute, compute: opts.compute === 'float16' ? 'float16' : 'float32', providers: ['cpu'] },
        [item],
      );
      try {
        const t0 = now();
        const first = await trainer.step(0);
        const firstMs = now() - t0;
        if (!Number.isFinite(first.loss)) throw new Error(`loss ${first.loss} at the first step`);
        const times: number[] = [];
        for (let i = 1; i <= runs; i++) times.push((await timed(() => trainer.step(i)))[1]);
        const step = median(times);
        const params = (await trainer.params()).reduce((a, p) => a + p.data.length, 0);
        return {
          metrics: { forward_ms: forward, first_step_ms: firstMs, step_ms: step, best_ms: Math.min(...times) },
          detail: `step = ${(step / forward).toFixed(2)} x forward; batch 1, 512x512 (64x64 latents), rank ${RANK}, ${(params / 1e6).toFixed(2)}M trained parameters, ${opts.compute}, median of ${runs}`,
        };
      } finally {
        await trainer.release();
        checkpoint.close();
        base?.close();
      }
    },
  };
}

export const trainStepScenarios: readonly Scenario[] = [
  trainStepScenario('style', false),
  trainStepScenario('style', true),
  trainStepScenario('ctrlora', false),
  trainStepScenario('ctrlora', true),
];
