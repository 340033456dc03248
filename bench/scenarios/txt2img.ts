// A whole 20-step 512x512 text-to-image run through the app's pipeline (generate(): text encoding, euler_a with
// CFG as a batch of 2, VAE decode), plain and with one ControlNet: seconds per step once the sessions are built,
// the first step (which builds them), the decode, and the run's peak memory (each variant in its own process).

import { generate } from '../../src-main/engine/pipeline/generate.ts';
import { ModelRuntime } from '../../src-main/engine/pipeline/model-runtime.ts';
import type { ControlUnit } from '../../src-main/engine/pipeline/control-units.ts';
import { fusionOverrides, median, now, pseudoRandom, type Scenario } from '../scenario.ts';

const SIZE = 512;

/** A runtime that notes when the first denoising evaluation of a generation starts (its UNet or control unit). */
class StartTimedRuntime extends ModelRuntime {
  firstModelCall = 0;
  private note(): void {
    this.firstModelCall ||= now();
  }
  override unet(...args: Parameters<ModelRuntime['unet']>) {
    this.note();
    return super.unet(...args);
  }
  override controlNet(...args: Parameters<ModelRuntime['controlNet']>) {
    this.note();
    return super.controlNet(...args);
  }
}
const STEPS = 20;

function txt2imgScenario(withControlNet: boolean): Scenario {
  return {
    name: withControlNet ? 'txt2img-controlnet' : 'txt2img',
    title: `20-step ${SIZE}x${SIZE} txt2img${withControlNet ? ' with one ControlNet' : ''}`,
    headline: 'step_ms',
    models: ['tiny', 'full'],
    async run(model, opts) {
      const runtime = new StartTimedRuntime(opts.compute, [opts.provider], fusionOverrides(opts), !opts.foldWeights);
      const hint = pseudoRandom([1, 3, SIZE, SIZE], 7, 0.5);
      const controls: ControlUnit[] = withControlNet
        ? [{ kind: 'controlnet', path: model.controlNet, image: { shape: [...hint.shape], data: (hint.data as Float32Array).map((v) => v + 0.5) }, weight: 1, start: 0, end: 1 }]
        : [];
      const request = { checkpoint: model.checkpoint, prompt: 'a lighthouse on a cliff at dusk, oil painting', negative: 'blurry', width: SIZE, height: SIZE, steps: STEPS, cfg: 7, seed: 1, sampler: 'euler_a' as const, clipSkip: 1 as const, controls, loras: [] };
      const stamps: number[] = [];
      const t0 = now();
      let total = 0;
      let t1 = 0;
      try {
        await generate(runtime, request, { onStep: () => void stamps.push(now()) });
        total = now() - t0;
        // A second picture with the same models and another prompt: its sessions are warm, only the text is new.
        t1 = now();
        runtime.firstModelCall = 0;
        await generate(runtime, { ...request, prompt: 'a harbour at night', seed: 2, steps: 2 });
      } finally {
        await runtime.dispose();
      }
      const steps = stamps.slice(1).map((t, i) => t - stamps[i]);
      const stepMs = median(steps);
      return {
        metrics: {
          total_ms: total,
          first_step_ms: stamps[0] - t0,
          step_ms: stepMs,
          decode_ms: t0 + total - stamps[stamps.length - 1],
          second_start_ms: runtime.firstModelCall - t1,
        },
        detail:
          `${STEPS} euler_a steps, CFG batch 2, ${SIZE}x${SIZE}${withControlNet ? ', one ControlNet at weight 1' : ''}, ${opts.compute}; step = median of steps 2..${STEPS}, first step includes building the sessions and the text encoding; ` +
          'second_start = from a second generation\'s start to its first denoising evaluation (text encoding and setup)',
      };
    },
  };
}

export const txt2imgScenarios: readonly Scenario[] = [txt2imgScenario(false), txt2imgScenario(true)];
