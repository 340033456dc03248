// LCM (Latent Consistency Models, Luo et al. 2023) as diffusers' LCMScheduler: timesteps picked from the
// distillation schedule (50 steps, every 20th training timestep), each step maps the sample to the consistency
// boundary condition c_skip x + c_out x0 and re-noises it to the next timestep with fresh noise from the
// generator; the last step returns the denoised sample. Meant for LCM-LoRA / LCM checkpoints at CFG ~1-2.
import type { TorchGenerator } from '../torch-rng.ts';
import { BaseSampler, axpby, requireGenerator, type SamplerKind, type SamplerRun } from './sampler.ts';
import { ScheduleError, alphasCumprod, npLinspace, trainingSigmas, type ScheduleConfig } from './schedule.ts';

export interface LcmConfig extends ScheduleConfig {
  original_inference_steps: number;
  timestep_scaling: number;
  set_alpha_to_one: boolean;
}

const SIGMA_DATA = 0.5;

export class LcmSampler extends BaseSampler {
  readonly kind: SamplerKind = 'lcm';
  readonly order = 1;
  readonly timesteps: readonly number[];
  readonly evaluationSigmas: readonly number[];
  readonly initNoiseSigma = 1;
  private readonly abar: Float32Array;

  constructor(
    readonly steps: number,
    readonly config: LcmConfig,
  ) {
    super();
    this.abar = alphasCumprod(config);
    const original = config.original_inference_steps;
    const k = Math.floor(config.num_train_timesteps / original);
    // [k-1, 2k-1, ..., original*k - 1], descending
    const origin = Array.from({ length: original }, (_, i) => (i + 1) * k - 1).reverse();
    if (!Number.isInteger(steps) || steps < 1 || steps > original) {
      throw new ScheduleError(`lcm: steps must be an integer from 1 to ${original}, got ${steps}`);
    }
    this.timesteps = npLinspace(0, origin.length, steps, false).map((x) => origin[Math.floor(x)]);
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

  /** The consistency model's boundary condition (get_scalings_for_boundary_condition_discrete). */
  private scalings(timestep: number): { cSkip: number; cOut: number } {
    const scaled = timestep * this.config.timestep_scaling;
    const cSkip = SIGMA_DATA ** 2 / (scaled ** 2 + SIGMA_DATA ** 2);
    const cOut = scaled / Math.sqrt(scaled ** 2 + SIGMA_DATA ** 2);
    return { cSkip, cOut };
  }

  startRun(generator?: TorchGenerator): SamplerRun {
    let predictedOriginal: Float32Array | null = null;
    return {
      step: (eps, index, latents) => {
        const t = this.timesteps[index];
        const last = index === this.timesteps.length - 1;
        const prevT = last ? t : this.timesteps[index + 1];
        const a = this.abar[t];
        const aPrev = prevT >= 0 ? this.abar[prevT] : this.config.set_alpha_to_one ? 1 : this.abar[0];
        const { cSkip, cOut } = this.scalings(t);
        const sqrtA = Math.sqrt(a);
        const sqrtB = Math.sqrt(1 - a);
        const denoised = latents.map((x, i) => cOut * ((x - sqrtB * eps[i]) / sqrtA) + cSkip * x);
        predictedOriginal = denoised;
        if (last) return denoised;
        const noise = requireGenerator(this.kind, generator).randn(latents.length);
        return axpby(Math.sqrt(aPrev), denoised, Math.sqrt(1 - aPrev), noise);
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
  }
}
