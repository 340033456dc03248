// DPM++ SDE (k-diffusion's sample_dpmpp_sde, diffusers' DPMSolverSDEScheduler) with Karras sigmas: two UNet
// evaluations per step, a stochastic half step to the midpoint in log sigma, then the full step from the
// midpoint's x0 prediction; a plain Euler step to sigma 0 at the end. Schedule as diffusers builds it:
// evaluations t0, mid01, t1, mid12, ..., t(n-1).
//
// Noise: diffusers samples a torchsde Brownian tree; here the Brownian path is built from the run's torch
// generator (one normal draw per half interval, the full-step increment the sum of both halves), which is
// the same process but not the same numbers, so seeds do not reproduce diffusers' or A1111's images.
import type { TorchGenerator } from '../torch-rng.ts';
import { requireGenerator, type SamplerRun } from './sampler.ts';
import { KarrasScaleSampler } from './latent-scales.ts';
import {
  alphasCumprod,
  interpTable,
  karrasSigmas,
  logSigmaTable,
  sigmaToTimestep,
  spacedTimesteps,
  trainingSigmas,
  type ScheduleConfig,
} from './schedule.ts';

export interface DpmSdeConfig extends ScheduleConfig {
  use_karras_sigmas: boolean;
}

const sigmaFn = (t: number): number => Math.exp(-t);
const tFn = (sigma: number): number => -Math.log(sigma);

export class DpmSdeSampler extends KarrasScaleSampler {
  readonly kind = 'dpmpp_sde_karras' as const;
  readonly order = 2;
  readonly timesteps: readonly number[];
  readonly evaluationSigmas: readonly number[];
  /** One sigma per step, then 0 (not interleaved). */
  readonly sigmas: Float32Array;

  constructor(
    readonly steps: number,
    readonly config: DpmSdeConfig,
  ) {
    super();
    const table = trainingSigmas(alphasCumprod(config));
    const logSigmas = logSigmaTable(table);
    let timesteps = spacedTimesteps(config, steps, false).map((t) => t); // float64 here in diffusers
    let sigmas = timesteps.map((t) => interpTable(table, t));
    if (config.use_karras_sigmas) {
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], steps);
      timesteps = sigmas.map((s) => sigmaToTimestep(s, logSigmas));
    }
    this.sigmas = Float32Array.from([...sigmas, 0]);
    const evalTimesteps: number[] = [];
    const evalSigmas: number[] = [];
    for (let k = 0; k < steps; k++) {
      evalTimesteps.push(timesteps[k]);
      evalSigmas.push(this.sigmas[k]);
      if (k < steps - 1) {
        // second-order evaluation at the log-sigma midpoint of step k
        const mid = sigmaFn((tFn(sigmas[k]) + tFn(sigmas[k + 1])) / 2);
        evalTimesteps.push(sigmaToTimestep(mid, logSigmas));
        evalSigmas.push(Math.fround(this.midpoint(k)));
      }
    }
    this.timesteps = evalTimesteps;
    this.evaluationSigmas = evalSigmas;
  }

  /** The midpoint sigma of step k from the float32 sigmas, as the scheduler's state computes it. */
  private midpoint(k: number): number {
    return sigmaFn((tFn(this.sigmas[k]) + tFn(this.sigmas[k + 1])) / 2);
  }

  startRun(generator?: TorchGenerator): SamplerRun {
    const rng = requireGenerator(this.kind, generator);
    let stepStart: Float32Array | null = null; // the sample at the start of the current step
    let firstHalfNoise: Float32Array | null = null;
    let predictedOriginal: Float32Array | null = null;
    return {
      step: (eps, index, latents) => {
        const k = Math.floor((index + 1) / 2); // step number: evaluations 2k (first order), 2k-1 (second)
        const firstOrder = index % 2 === 0;
        const sigma = this.sigmas[firstOrder ? k : k - 1];
        const sigmaNext = this.sigmas[firstOrder ? k + 1 : k];
        const sigmaInput = firstOrder ? sigma : this.midpoint(k - 1);
        const x0 = latents.map((x, i) => x - sigmaInput * eps[i]);
        predictedOriginal = x0;
        if (sigmaNext === 0) {
          // last step: Euler to sigma 0
          return latents.map((x, i) => x + ((x - x0[i]) / sigma) * (sigmaNext - sigma));
        }
        const t = tFn(sigma);
        const tMid = (t + tFn(sigmaNext)) / 2;
        const tTarget = firstOrder ? tMid : tFn(sigmaNext);
        const base = firstOrder ? latents : stepStart!;
        const sigmaFrom = sigmaFn(t);
        const sigmaTo = sigmaFn(tTarget);
        const sigmaUp = Math.min(sigmaTo, Math.sqrt((sigmaTo ** 2 * (sigmaFrom ** 2 - sigmaTo ** 2)) / sigmaFrom ** 2));
        const sigmaDown = Math.sqrt(sigmaTo ** 2 - sigmaUp ** 2);
        const ancestralT = tFn(sigmaDown);
        const keep = sigmaFn(ancestralT) / sigmaFn(t);
        const pull = -Math.expm1(t - ancestralT);
        // Brownian increment over [sigma, sigma_to], normalised: N(0, 1) per element
        const noise = this.brownian(rng, firstOrder, sigma, sigmaFn(tMid), sigmaNext, latents.length, firstHalfNoise);
        if (firstOrder) firstHalfNoise = noise.firstHalf;
        const out = base.map((x, i) => keep * x + pull * x0[i] + noise.normalised[i] * sigmaUp);
        if (firstOrder) {
          stepStart = latents;
        } else {
          stepStart = null;
          firstHalfNoise = null;
        }
        return out;
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
  }

  /**
   * W(sigma -> sigma_mid) for the first half, W(sigma -> sigma_next) = first half + second half for the full
   * step, each divided by sqrt(|interval|) as diffusers' BrownianTreeNoiseSampler does.
   */
  private brownian(
    rng: TorchGenerator,
    firstOrder: boolean,
    sigma: number,
    sigmaMid: number,
    sigmaNext: number,
    size: number,
    firstHalf: Float32Array | null,
  ): { normalised: Float32Array; firstHalf: Float32Array } {
    const half1 = Math.sqrt(Math.abs(sigma - sigmaMid));
    if (firstOrder) {
      const z = rng.randn(size);
      return { normalised: z, firstHalf: z };
    }
    const half2 = Math.sqrt(Math.abs(sigmaMid - sigmaNext));
    const whole = Math.sqrt(Math.abs(sigma - sigmaNext));
    const z1 = firstHalf ?? rng.randn(size);
    const z2 = rng.randn(size);
    const normalised = z1.map((a, i) => (a * half1 + z2[i] * half2) / whole);
    return { normalised, firstHalf: z1 };
  }
}
