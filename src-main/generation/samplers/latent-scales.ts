// The two latent scales samplers work in, as bases for them.
// - k-diffusion scale (Euler, Euler a, DPM++ SDE): x = x0 + sigma * eps; the UNet sees x / sqrt(sigma^2 + 1),
//   txt2img starts from noise x init_noise_sigma, img2img adds noise x sigma.
// - training (VP) scale (DPM-Solver++, UniPC): x = alpha * x0 + sigma_vp * eps with alpha = 1/sqrt(sigma^2 + 1);
//   the UNet sees x as it is, txt2img starts from unscaled noise, img2img adds noise with alpha and sigma_vp.
import { BaseSampler, axpby } from './sampler.ts';
import { karrasSigmas, logSigmaTable, roundHalfEven, sigmaToTimestep, type ScheduleConfig } from './schedule.ts';

const f32 = Math.fround;


/** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t (diffusers' _sigma_to_alpha_sigma_t). */
export function alphaSigma(sigma: number): { alpha: number; sigmaVp: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  return { alpha, sigmaVp: sigma * alpha };
}

/** lambda = log(alpha) - log(sigma_vp), +Infinity at sigma 0. */
export function lambdaOf(sigma: number): number {
  const { alpha, sigmaVp } = alphaSigma(sigma);
  return Math.log(alpha) - Math.log(sigmaVp);
}

/** Samplers whose latents are x0 + sigma * eps (k-diffusion scale): input scaling, add_noise, init sigma. */
export abstract class KarrasScaleSampler extends BaseSampler {
  /** One float32 sigma per step, then 0. */
  abstract readonly sigmas: Float32Array;
  abstract readonly config: ScheduleConfig;

  get initNoiseSigma(): number {
    const max = this.sigmas.reduce((m, s) => Math.max(m, s), 0);
    if (this.config.timestep_spacing === 'linspace' || this.config.timestep_spacing === 'trailing') return max;
    return f32(Math.sqrt(f32(f32(max * max) + 1)));
  }

  scaleModelInput(latents: Float32Array, index: number): Float32Array {
    const sigma = this.evaluationSigmas[index];
    const c = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    return latents.map((x) => x / c);
  }

  addNoise(x0: Float32Array, noise: Float32Array, index: number): Float32Array {
    const sigma = this.evaluationSigmas[index];
    return x0.map((x, i) => x + f32(noise[i] * sigma));
  }
}

export abstract class VpSampler extends BaseSampler {
  /** One float32 sigma per step, then the final sigma (0, or sigma_min for UniPC). */
  abstract readonly sigmas: Float32Array;
  readonly initNoiseSigma = 1;

  scaleModelInput(latents: Float32Array): Float32Array {
    return latents;
  }

  addNoise(x0: Float32Array, noise: Float32Array, index: number): Float32Array {
    const { alpha, sigmaVp } = alphaSigma(this.sigmas[index]);
    return axpby(alpha, x0, sigmaVp, noise);
  }
}

/**
 * Karras sigmas over the whole training range with integer timesteps, as DPMSolverMultistep/UniPC do it:
 * sigma_min and sigma_max are the first and last training sigmas, timesteps are rounded _sigma_to_t.
 */
export function karrasSchedule(table: Float32Array, steps: number): { sigmas: number[]; timesteps: number[] } {
  const logSigmas = logSigmaTable(table);
  const sigmas = karrasSigmas(table[0], table[table.length - 1], steps);
  const timesteps = sigmas.map((s) => roundHalfEven(sigmaToTimestep(s, logSigmas)));
  return { sigmas, timesteps };
}
