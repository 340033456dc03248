// Euler and Euler ancestral as diffusers' EulerDiscreteScheduler / EulerAncestralDiscreteScheduler (k-diffusion
// sampling on sigmas interpolated from the training schedule). Latents live at scale x0 + sigma * eps; the
// UNet sees them divided by sqrt(sigma^2 + 1). Per-element arithmetic rounds to float32 where torch does,
// because x - x0 cancels when sigma is small.
import type { TorchGenerator } from '../torch-rng.ts';
import { requireGenerator, type SamplerKind, type SamplerRun } from './sampler.ts';
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

const f32 = Math.fround;

export interface EulerConfig extends ScheduleConfig {
  use_karras_sigmas: boolean;
}

export class EulerSampler extends KarrasScaleSampler {
  readonly order = 1;
  readonly timesteps: readonly number[];
  readonly sigmas: Float32Array;
  readonly evaluationSigmas: readonly number[];

  constructor(
    readonly kind: Extract<SamplerKind, 'euler' | 'euler_a'>,
    readonly steps: number,
    readonly config: EulerConfig,
  ) {
    super();
    const table = trainingSigmas(alphasCumprod(config));
    let timesteps = spacedTimesteps(config, steps, false);
    let sigmas = timesteps.map((t) => interpTable(table, t));
    if (config.use_karras_sigmas) {
      if (kind === 'euler_a') throw new Error('euler_a: diffusers 0.27 has no Karras sigmas for Euler ancestral');
      const logSigmas = logSigmaTable(table);
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], steps);
      timesteps = sigmas.map((s) => f32(sigmaToTimestep(s, logSigmas)));
    }
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, 0]);
    this.evaluationSigmas = [...this.sigmas.subarray(0, steps)];
  }

  startRun(generator?: TorchGenerator): SamplerRun {
    const ancestral = this.kind === 'euler_a';
    const rng = ancestral ? requireGenerator(this.kind, generator) : null;
    let predictedOriginal: Float32Array | null = null;
    return {
      step: (eps, index, latents) => {
        const sigma = this.sigmas[index];
        const next = this.sigmas[index + 1];
        let target = next; // where the deterministic part lands
        let sigmaUp = 0;
        if (ancestral) {
          const s2 = f32(sigma * sigma);
          const n2 = f32(next * next);
          sigmaUp = f32(Math.sqrt(f32(f32(n2 * f32(s2 - n2)) / s2)));
          target = f32(Math.sqrt(f32(n2 - f32(sigmaUp * sigmaUp))));
        }
        const dt = f32(target - sigma);
        const x0 = new Float32Array(latents.length);
        let out = new Float32Array(latents.length);
        for (let i = 0; i < latents.length; i++) {
          const x = latents[i];
          x0[i] = x - f32(sigma * eps[i]);
          const derivative = f32(f32(x - x0[i]) / sigma);
          out[i] = x + f32(derivative * dt);
        }
        if (rng) {
          // diffusers draws this noise at every step, the last (sigma_up = 0) included
          const noise = rng.randn(latents.length);
          out = out.map((x, i) => x + f32(noise[i] * sigmaUp));
        }
        predictedOriginal = x0;
        return out;
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
  }
}
