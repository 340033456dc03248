// Base for the multistep solvers that keep latents at the training scale, x = alpha * x0 + sigma_vp * eps
// (DPM-Solver++, UniPC): the UNet sees the latents as they are, img2img noise is added with alpha and sigma_vp
// derived from the step's k-diffusion sigma, and txt2img starts from unscaled noise.
import { BaseSampler, axpby } from './sampler.ts';
import { karrasSigmas, logSigmaTable, roundHalfEven, sigmaToTimestep } from './schedule.ts';

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
