// UniPC (Zhao et al. 2023) as diffusers' UniPCMultistepScheduler with its defaults: order 2, "bh2", data
// prediction (predict_x0), lower_order_final, corrector on every step after the first. The schedule ends at
// the smallest training sigma, not at 0, as diffusers' does.
import type { SamplerKind, SamplerRun } from './sampler.ts';
import { alphasCumprod, interpTable, multistepTimesteps, trainingSigmas, type ScheduleConfig } from './schedule.ts';
import { VpSampler, alphaSigma, karrasSchedule, lambdaOf } from './latent-scales.ts';

export interface UniPcConfig extends ScheduleConfig {
  use_karras_sigmas: boolean;
  lower_order_final: boolean;
}

interface Coefficients {
  ratio: number; // sigma_t / sigma_s0 (VP sigmas)
  alphaT: number;
  hPhi1: number; // expm1(-h)
  bH: number; // bh2: expm1(-h)
  h: number;
}

export class UniPcSampler extends VpSampler {
  readonly kind: SamplerKind = 'unipc';
  readonly order = 1;
  readonly timesteps: readonly number[];
  readonly sigmas: Float32Array;
  readonly evaluationSigmas: readonly number[];

  constructor(
    readonly steps: number,
    readonly config: UniPcConfig,
  ) {
    super();
    const table = trainingSigmas(alphasCumprod(config));
    let timesteps = multistepTimesteps(config, steps);
    let sigmas: number[];
    let last: number;
    if (config.use_karras_sigmas) {
      ({ sigmas, timesteps } = karrasSchedule(table, steps));
      last = sigmas[sigmas.length - 1];
    } else {
      sigmas = timesteps.map((t) => interpTable(table, t));
      last = table[0];
    }
    this.timesteps = timesteps;
    this.sigmas = Float32Array.from([...sigmas, last]);
    this.evaluationSigmas = [...this.sigmas.subarray(0, timesteps.length)];
  }

  /** The shared scalars of the predictor (from s0 = index to t = index + 1) or corrector (index-1 to index). */
  private coefficients(s0: number, t: number): Coefficients {
    const { alpha: alphaT, sigmaVp: sigmaVpT } = alphaSigma(this.sigmas[t]);
    const { sigmaVp: sigmaVpS } = alphaSigma(this.sigmas[s0]);
    const h = lambdaOf(this.sigmas[t]) - lambdaOf(this.sigmas[s0]);
    const hPhi1 = Math.expm1(-h);
    return { ratio: sigmaVpT / sigmaVpS, alphaT, hPhi1, bH: hPhi1, h };
  }

  /** rhos for order 2: solve R rho = b with R = [[1, 1], [rk, 1]] (diffusers builds b from h_phi_k). */
  private static rhos(c: Coefficients, rk: number): [number, number] {
    const hh = -c.h;
    let hPhiK = c.hPhi1 / hh - 1;
    const b1 = hPhiK / c.bH; // factorial 1
    hPhiK = hPhiK / hh - 1 / 2;
    const b2 = (hPhiK * 2) / c.bH; // factorial 2
    // R = [[rk^0, 1^0], [rk^1, 1^1]] = [[1, 1], [rk, 1]]
    const det = 1 - rk;
    return [(b1 - b2) / det, (b2 - rk * b1) / det];
  }

  startRun(): SamplerRun {
    const n = this.timesteps.length;
    const history: Float32Array[] = []; // converted model outputs (x0 predictions), newest last
    let lastSample: Float32Array | null = null;
    let lastOrder = 0;
    let lowerOrderNums = 0;
    let predictedOriginal: Float32Array | null = null;
    return {
      step: (eps, index, latents) => {
        const { alpha, sigmaVp } = alphaSigma(this.sigmas[index]);
        const x0 = latents.map((x, i) => (x - sigmaVp * eps[i]) / alpha);
        let sample = latents;
        if (index > 0 && lastSample !== null) sample = this.correct(x0, lastSample, latents, history, index, lastOrder);
        history.push(x0);
        if (history.length > 2) history.shift();
        let order = this.config.lower_order_final ? Math.min(2, n - index) : 2;
        order = Math.min(order, lowerOrderNums + 1);
        lastSample = sample;
        lastOrder = order;
        const out = this.predict(sample, history, index, order);
        if (lowerOrderNums < 2) lowerOrderNums++;
        predictedOriginal = x0;
        return out;
      },
      get predictedOriginal() {
        return predictedOriginal;
      },
    };
  }

  /** UniP (multistep_uni_p_bh_update) from `index` to `index + 1`. */
  private predict(x: Float32Array, history: Float32Array[], index: number, order: number): Float32Array {
    const c = this.coefficients(index, index + 1);
    const m0 = history[history.length - 1];
    const out = new Float32Array(x.length);
    if (order === 1) {
      for (let i = 0; i < x.length; i++) out[i] = c.ratio * x[i] - c.alphaT * c.hPhi1 * m0[i];
      return out;
    }
    const m1 = history[history.length - 2];
    const rk = (lambdaOf(this.sigmas[index - 1]) - lambdaOf(this.sigmas[index])) / c.h;
    const rhoP = 0.5; // diffusers fixes rhos_p = [0.5] for order 2
    for (let i = 0; i < x.length; i++) {
      const d1 = (m1[i] - m0[i]) / rk;
      out[i] = c.ratio * x[i] - c.alphaT * c.hPhi1 * m0[i] - c.alphaT * c.bH * rhoP * d1;
    }
    return out;
  }

  /** UniC (multistep_uni_c_bh_update): refines the sample at `index` with the new model output. */
  private correct(
    modelT: Float32Array,
    lastSample: Float32Array,
    thisSample: Float32Array,
    history: Float32Array[],
    index: number,
    order: number,
  ): Float32Array {
    const c = this.coefficients(index - 1, index);
    const m0 = history[history.length - 1];
    const out = new Float32Array(thisSample.length);
    if (order === 1) {
      const rhoC = 0.5;
      for (let i = 0; i < out.length; i++) {
        const base = c.ratio * lastSample[i] - c.alphaT * c.hPhi1 * m0[i];
        out[i] = base - c.alphaT * c.bH * rhoC * (modelT[i] - m0[i]);
      }
      return out;
    }
    const m1 = history[history.length - 2];
    const rk = (lambdaOf(this.sigmas[index - 2]) - lambdaOf(this.sigmas[index - 1])) / c.h;
    const [rho0, rho1] = UniPcSampler.rhos(c, rk);
    for (let i = 0; i < out.length; i++) {
      const base = c.ratio * lastSample[i] - c.alphaT * c.hPhi1 * m0[i];
      const d1 = (m1[i] - m0[i]) / rk;
      out[i] = base - c.alphaT * c.bH * (rho0 * d1 + rho1 * (modelT[i] - m0[i]));
    }
    return out;
  }
}
