// DDIM (Song et al. 2020) as diffusers' DDIMScheduler with eta = 0: deterministic, epsilon prediction, the
// previous timestep `t - T / steps`, and below t = 0 the "final" alpha (abar[0] unless set_alpha_to_one).
import { BaseSampler, axpby, type SamplerKind, type SamplerRun } from './sampler.ts';
import { alphasCumprod, spacedTimesteps, trainingSigmas, type ScheduleConfig } from './schedule.ts';

export interface DdimConfig extends ScheduleConfig {
  set_alpha_to_one: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
}

export class DdimSampler extends BaseSampler {
  readonly kind: SamplerKind = 'ddim';
  readonly order = 1;
  readonly timesteps: readonly number[];
  readonly evaluationSigmas: readonly number[];
  readonly initNoiseSigma = 1;
  readonly abar: Float32Array;
  private readonly finalAbar: number;
  private readonly stride: number;

  constructor(
    readonly steps: number,
    readonly config: DdimConfig,
  ) {
    super();
    this.abar = alphasCumprod(config);
    this.finalAbar = config.set_alpha_to_one ? 1 : this.abar[0];
    this.timesteps = spacedTimesteps(config, steps, true);
    this.stride = Math.floor(config.num_train_timesteps / steps);
    const sigmas = trainingSigmas(this.abar);
    this.evaluationSigmas = this.timesteps.map((t) => sigmas[t]);
  }

  scaleModelInput(latents: Float32Array): Float32Array {
    return latents;
  }

  addNoise(x0: Float32Array, noise: Float32Array, index: number): Float32Array {
    const a = this.abar[this.timesteps[index]];
    return axpby(Math.fround(Math.sqrt(a)), x0, Math.fround(Math.sqrt(Math.fround(1 - a))), noise);
  }

  startRun(): SamplerRun {
    let predictedOriginal: Float32Array | null = null;
    const run: SamplerRun = {
      step: (eps, index, latents) => {
        const t = this.timesteps[index];
        const prevT = t - this.stride;
        const a = this.abar[t];
        const aPrev = prevT >= 0 ? this.abar[prevT] : this.finalAbar;
        const sqrtA = Math.sqrt(a);
        const sqrtB = Math.sqrt(1 - a);
        const x0 = new Float32Array(latents.length);
        const out = new Float32Array(latents.length);
        const range = this.config.clip_sample ? this.config.clip_sample_range : Infinity;
        for (let i = 0; i < latents.length; i++) {
          const pred = Math.min(range, Math.max(-range, (latents[i] - sqrtB * eps[i]) / sqrtA));
          x0[i] = pred;
          out[i] = Math.sqrt(aPrev) * pred + Math.sqrt(1 - aPrev) * eps[i];
        }
        predictedOriginal = x0;
        return out;
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
    return run;
  }
}
