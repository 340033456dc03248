// DPM-Solver++(2M) (Lu et al. 2022) as diffusers' DPMSolverMultistepScheduler with algorithm_type
// "dpmsolver++", solver_order 2, solver_type "midpoint", lower_order_final and final sigma 0: the first step
// and the last are first order, the others use the previous step's x0 prediction. With Karras sigmas this is
// A1111's "DPM++ 2M Karras".
import { axpby, type SamplerKind, type SamplerRun } from './sampler.ts';
import { alphasCumprod, interpTable, multistepTimesteps, trainingSigmas, type ScheduleConfig } from './schedule.ts';
import { VpSampler, alphaSigma, karrasSchedule, lambdaOf } from './latent-scales.ts';

export interface DpmSolverConfig extends ScheduleConfig {
  use_karras_sigmas: boolean;
  solver_order: 2;
  lower_order_final: boolean;
  final_sigmas_type: 'zero' | 'sigma_min';
}

export class DpmSolverMultistepSampler extends VpSampler {
  readonly order = 1;
  readonly timesteps: readonly number[];
  readonly sigmas: Float32Array;
  readonly evaluationSigmas: readonly number[];

  constructor(
    readonly kind: Extract<SamplerKind, 'dpmpp_2m' | 'dpmpp_2m_karras'>,
    readonly steps: number,
    readonly config: DpmSolverConfig,
  ) {
    super();
    const table = trainingSigmas(alphasCumprod(config));
    let timesteps = multistepTimesteps(config, steps);
    let sigmas = timesteps.map((t) => interpTable(table, t));
    if (config.use_karras_sigmas) ({ sigmas, timesteps } = karrasSchedule(table, steps));
    const last = config.final_sigmas_type === 'zero' ? 0 : table[0];
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, last]);
    this.evaluationSigmas = [...this.sigmas.subarray(0, timesteps.length)];
  }

  startRun(): SamplerRun {
    const n = this.timesteps.length;
    let previous: Float32Array | null = null; // x0 prediction of the previous step (model_outputs[-2])
    let lowerOrderNums = 0;
    let predictedOriginal: Float32Array | null = null;
    return {
      step: (eps, index, latents) => {
        const sigmaS = this.sigmas[index];
        const sigmaT = this.sigmas[index + 1];
        const { alpha: alphaS, sigmaVp: sigmaVpS } = alphaSigma(sigmaS);
        const { alpha: alphaT, sigmaVp: sigmaVpT } = alphaSigma(sigmaT);
        const x0 = axpby(1 / alphaS, latents, -sigmaVpS / alphaS, eps); // (x - sigma_t eps) / alpha_t
        const lowerOrderFinal =
          index === n - 1 &&
          ((this.config.lower_order_final && n < 15) || this.config.final_sigmas_type === 'zero');
        const h = lambdaOf(sigmaT) - lambdaOf(sigmaS);
        const phi = alphaT * Math.expm1(-h); // alpha_t (e^-h - 1)
        const ratio = sigmaVpT / sigmaVpS;
        let out: Float32Array;
        if (lowerOrderNums < 1 || lowerOrderFinal || previous === null) {
          out = axpby(ratio, latents, -phi, x0);
        } else {
          const h0 = lambdaOf(sigmaS) - lambdaOf(this.sigmas[index - 1]);
          const r0 = h0 / h;
          out = new Float32Array(latents.length);
          for (let i = 0; i < latents.length; i++) {
            const d1 = (x0[i] - previous[i]) / r0;
            out[i] = ratio * latents[i] - phi * x0[i] - 0.5 * phi * d1;
          }
        }
        if (lowerOrderNums < 2) lowerOrderNums++;
        previous = x0;
        predictedOriginal = x0;
        return out;
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
  }
}
