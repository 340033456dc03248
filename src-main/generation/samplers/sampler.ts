// The sampler contract the generation pipeline drives. A sampler owns a schedule (the model timestep of each
// UNet evaluation), scales the model input, takes the predicted noise and moves the latents one evaluation
// on. Classifier-free guidance, ControlNets and the UNet itself stay in the `denoise` callback, so every
// sampler works with every kind of conditioning.
import type { TorchGenerator } from '../torch-rng.ts';

export type SamplerKind =
  | 'ddim'
  | 'euler'
  | 'euler_a'
  | 'dpmpp_2m'
  | 'dpmpp_2m_karras'
  | 'dpmpp_sde_karras'
  | 'unipc'
  | 'lcm';

export interface DenoiseInfo {
  /** Index into the sampler's full schedule (`timesteps`), img2img's skipped steps included. */
  scheduleIndex: number;
  /** UNet evaluations in this run, for progress and ControlNet start/end fractions. */
  evaluations: number;
  /** The noise level of the model input as a k-diffusion sigma (sqrt((1 - abar) / abar)). */
  sigma: number;
}

/**
 * Predicts the noise (epsilon) in `latents` at `timestep`: runs the UNet on the (already scaled) model input,
 * applies CFG outside the sampler, returns [1, 4, h, w] like the input. `stepIndex` counts evaluations of
 * this run from 0.
 */
export type DenoiseFn = (
  latents: Float32Array,
  timestep: number,
  stepIndex: number,
  info: DenoiseInfo,
) => Promise<Float32Array>;

export interface SampleOptions {
  /** N(0, 1) noise, [1, 4, h, w]: torch.randn(seed) for txt2img, the noise added to the image for img2img. */
  noise: Float32Array;
  denoise: DenoiseFn;
  /** Draws ancestral/SDE noise after the initial noise (diffusers passes the same torch generator). */
  generator?: TorchGenerator;
  /** img2img: steps skipped at the start (see img2imgStartStep); `initLatents` are noised to that step. */
  startStep?: number;
  /** img2img: the clean latents (VAE mean x 0.18215), [1, 4, h, w]. */
  initLatents?: Float32Array;
  /** Called after each evaluation with the new latents and the sampler's x0 estimate (for previews). */
  onStep?: (step: StepReport) => void | Promise<void>;
  signal?: AbortSignal;
  /**
   * Inpainting with an ordinary (4-channel) UNet, as diffusers' inpaint pipeline does it: after every step,
   * latents outside the mask are replaced by the init latents noised to the next step's level (the clean init
   * after the last step). `mask` is [h, w] (1 = repaint), broadcast over the channels; `init` and `noise` are
   * [1, 4, h, w].
   */
  blend?: { mask: Float32Array; init: Float32Array; noise: Float32Array };
  /** What the UNet predicts: 'epsilon' (SD1.5) or 'v_prediction' (converted to epsilon before each step). */
  predictionType?: 'epsilon' | 'v_prediction';
}

export interface StepReport {
  stepIndex: number;
  evaluations: number;
  latents: Float32Array;
  /** The denoised estimate at this step, [1, 4, h, w]. */
  predictedOriginal: Float32Array;
}

/** One run's mutable solver state (multistep history, the SDE's half step); made fresh by `sample`. */
export interface SamplerRun {
  /** Latents after evaluation `index` (schedule index) given its noise prediction. */
  step(eps: Float32Array, index: number, latents: Float32Array): Float32Array;
  /** The x0 estimate of the last step, for previews. */
  readonly predictedOriginal: Float32Array | null;
}

export interface Sampler {
  readonly kind: SamplerKind;
  /** Inference steps asked for. */
  readonly steps: number;
  /** UNet evaluations per step: 1, or 2 for the two-stage DPM++ SDE. */
  readonly order: number;
  /** Model timestep of every evaluation of a full run, in order. */
  readonly timesteps: readonly number[];
  /** k-diffusion sigma of every evaluation's model input (what `DenoiseInfo.sigma` reports). */
  readonly evaluationSigmas: readonly number[];
  /** txt2img starts from noise x initNoiseSigma (diffusers' init_noise_sigma). */
  readonly initNoiseSigma: number;
  /** Schedule index where an img2img run that skips `startStep` steps begins (t_start * order). */
  beginIndex(startStep: number): number;
  /** The UNet input for evaluation `index` (diffusers' scale_model_input). */
  scaleModelInput(latents: Float32Array, index: number): Float32Array;
  /** Clean latents noised to the level of evaluation `index` (diffusers' add_noise). */
  addNoise(x0: Float32Array, noise: Float32Array, index: number): Float32Array;
  /** Fresh solver state for one run. `generator` supplies ancestral noise where the sampler needs it. */
  startRun(generator?: TorchGenerator): SamplerRun;
  /** The whole loop: initial latents, every evaluation, every step. Returns the final latents. */
  sample(options: SampleOptions): Promise<Float32Array>;
}

export class SamplerError extends Error {
  readonly kind: 'bad-sampler-input' | 'cancelled';
  constructor(kind: 'bad-sampler-input' | 'cancelled', message: string) {
    super(message);
    this.kind = kind;
  }
}

/** A new array a * x + b * y, elementwise (coefficients in double, result float32). */
export function axpby(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i] + b * y[i];
  return out;
}

export function scale(a: number, x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i];
  return out;
}

/**
 * eps from a v-prediction: every sampler's model input is alpha x0 + sigma_vp eps with alpha = 1/sqrt(1 +
 * sigma^2), and v = alpha eps - sigma_vp x0, so eps = alpha v + sigma_vp input.
 */
export function velocityToEpsilon(v: Float32Array, input: Float32Array, sigma: number): Float32Array {
  const alpha = 1 / Math.sqrt(1 + sigma * sigma);
  return axpby(alpha, v, sigma * alpha, input);
}

/** Keeps the unmasked latents on the init image's noised trajectory (inpainting). */
function blendKnown(
  sampler: Sampler,
  blend: NonNullable<SampleOptions['blend']>,
  latents: Float32Array, // [1, C, h, w]
  index: number,
): Float32Array {
  const { mask, init, noise } = blend;
  if (init.length !== latents.length || noise.length !== latents.length || latents.length % mask.length !== 0) {
    throw new SamplerError('bad-sampler-input', `${sampler.kind}: blend mask, init or noise does not fit the latents`);
  }
  const known = index + 1 < sampler.timesteps.length ? sampler.addNoise(init, noise, index + 1) : init;
  const out = new Float32Array(latents.length);
  for (let i = 0; i < latents.length; i++) {
    const m = mask[i % mask.length];
    out[i] = (1 - m) * known[i] + m * latents[i];
  }
  return out;
}

/** The loop every sampler shares (diffusers' StableDiffusionPipeline / Img2ImgPipeline denoising loop). */
export async function runSampler(sampler: Sampler, options: SampleOptions): Promise<Float32Array> {
  const { noise, denoise, generator, initLatents, onStep, signal } = options;
  const startStep = options.startStep ?? 0;
  if (!Number.isInteger(startStep) || startStep < 0 || startStep >= sampler.steps) {
    throw new SamplerError('bad-sampler-input', `${sampler.kind}: startStep ${startStep} outside 0..${sampler.steps - 1}`);
  }
  const begin = sampler.beginIndex(startStep);
  let latents: Float32Array;
  if (initLatents) {
    if (initLatents.length !== noise.length) {
      throw new SamplerError('bad-sampler-input', `${sampler.kind}: init latents and noise differ in size`);
    }
    latents = sampler.addNoise(initLatents, noise, begin);
  } else {
    if (startStep > 0) throw new SamplerError('bad-sampler-input', `${sampler.kind}: startStep needs initLatents`);
    latents = scale(sampler.initNoiseSigma, noise);
  }
  const run = sampler.startRun(generator);
  const evaluations = sampler.timesteps.length - begin;
  for (let index = begin; index < sampler.timesteps.length; index++) {
    if (signal?.aborted) throw new SamplerError('cancelled', `${sampler.kind}: cancelled`);
    const stepIndex = index - begin;
    const input = sampler.scaleModelInput(latents, index);
    const info: DenoiseInfo = { scheduleIndex: index, evaluations, sigma: sampler.evaluationSigmas[index] };
    let eps = await denoise(input, sampler.timesteps[index], stepIndex, info);
    if (eps.length !== latents.length) {
      throw new SamplerError('bad-sampler-input', `${sampler.kind}: denoise returned ${eps.length} values, expected ${latents.length}`);
    }
    if (options.predictionType === 'v_prediction') eps = velocityToEpsilon(eps, input, info.sigma);
    latents = run.step(eps, index, latents);
    if (options.blend) latents = blendKnown(sampler, options.blend, latents, index);
    if (onStep) {
      await onStep({ stepIndex, evaluations, latents, predictedOriginal: run.predictedOriginal ?? latents });
    }
  }
  return latents;
}

/** Shared plumbing: img2img begins at t_start * order; `sample` is the common loop. */
export abstract class BaseSampler implements Sampler {
  abstract readonly kind: SamplerKind;
  abstract readonly steps: number;
  abstract readonly order: number;
  abstract readonly timesteps: readonly number[];
  abstract readonly evaluationSigmas: readonly number[];
  abstract readonly initNoiseSigma: number;
  abstract scaleModelInput(latents: Float32Array, index: number): Float32Array;
  abstract addNoise(x0: Float32Array, noise: Float32Array, index: number): Float32Array;
  abstract startRun(generator?: TorchGenerator): SamplerRun;

  beginIndex(startStep: number): number {
    return startStep * this.order;
  }

  sample(options: SampleOptions): Promise<Float32Array> {
    return runSampler(this, options);
  }
}

/** The generator an ancestral sampler cannot run without. */
export function requireGenerator(kind: SamplerKind, generator: TorchGenerator | undefined): TorchGenerator {
  if (!generator) throw new SamplerError('bad-sampler-input', `${kind} draws noise at every step: pass a generator`);
  return generator;
}
