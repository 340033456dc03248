// One generation, as diffusers' StableDiffusion(ControlNet|Img2Img)Pipeline runs it, on the engine's graphs:
// text conditioning (A1111 syntax), torch-compatible seeded noise, a sampler, classifier-free guidance with
// [uncond, cond] in one UNet batch, ControlNets (each with weight and start/end fraction) summed into the
// UNet's residual inputs, LoRA strengths as graph inputs, img2img strength, inpainting by masked latent
// blending, and the VAE decode. The CLI and the engine's job handler both call `generate`.

import type { SamplerKind } from '../../generation/samplers/sampler.ts';
import { createSampler } from '../../generation/samplers/index.ts';
import { TorchGenerator } from '../../generation/torch-rng.ts';
import { batchOf } from './conditioning.ts';
import { PreparedControls, type ControlUnit } from './control-units.ts';
import { featherRegions } from './feathered-regions.ts';
import { GenerateError } from './generate-errors.ts';
import { RegionConditioning, type RegionRequest } from './regions.ts';
import type { LoraUse, ModelRuntime, Tensor32 } from './model-runtime.ts';
import { ScheduledConditioning, scheduleSteps } from './scheduled-conditioning.ts';
import type { TextualInversion } from './textual-inversion.ts';

export interface GenerateRequest {
  checkpoint: string;
  prompt: string;
  negative: string;
  width: number; // pixels, multiple of 8
  height: number;
  steps: number;
  cfg: number;
  seed: number; // 0 .. 2^32-1, already resolved (random seeds are drawn by the caller and recorded)
  sampler: SamplerKind;
  clipSkip: 1 | 2;
  controls: ControlUnit[];
  loras: LoraUse[];
  /**
   * img2img: the init image [1, 3, H, W] in [-1, 1] (or its latents [1, 4, H/8, W/8], already encoded) and the
   * strength (fraction of the steps that run). `startStep`, when given, replaces diffusers' step arithmetic
   * (hires fix runs A1111's: the last N steps of a longer schedule).
   */
  init?: ({ image: Tensor32 } | { latents: Tensor32 }) & { strength: number; startStep?: number };
  /** Inpainting: [1, 1, H, W] in [0, 1], 1 where the image is repainted. Needs `init`. */
  mask?: Tensor32;
  /**
   * Hires fix's second pass: prompt editing counts `when` on from the first pass (A1111's hires_steps), so the
   * schedules are built over the first pass's `firstPassSteps` with this pass's `hiresSteps`.
   */
  hiresSchedule?: { firstPassSteps: number; hiresSteps: number };
  /** Regional prompts (regions.ts); empty or absent: the whole picture follows `prompt`. */
  regions?: RegionRequest[];
  /** Textual-inversion embeddings the prompts may name (loaded with readTextualInversion). */
  embeddings?: readonly TextualInversion[];
  /** A standalone VAE file that replaces the checkpoint's for encoding and decoding. */
  vae?: string | null;
}

export interface StepUpdate {
  step: number;
  total: number;
  /** Current estimate of the clean latents [1, 4, h, w], for previews. */
  predicted: Float32Array;
  /** The latent grid of `predicted` (h, w). */
  latentHeight: number;
  latentWidth: number;
}

export interface GenerateResult {
  latents: Tensor32; // [1, 4, h, w] final latents, before the VAE
  image: Tensor32; // [1, 3, H, W] in [0, 1]
  /** Embeddings the prompts used (for the history and "TI hashes"). */
  embeddingsUsed: TextualInversion[];
  /** Sentences about what was left out (an embedding made for another text encoder). */
  messages: string[];
}

export { GenerateError };

export function validateSize(width: number, height: number): void {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v % 8 !== 0 || v < 64 || v > 2048) {
      throw new GenerateError('bad-request', `${name} ${v} must be a multiple of 8 between 64 and 2048`);
    }
  }
}

/** Downsamples a pixel mask [1, 1, H, W] to the latent grid by averaging 8x8 blocks. */
function latentMask(mask: Tensor32, h: number, w: number): Float32Array {
  const [, , H, W] = mask.shape;
  const out = new Float32Array(h * w);
  const fy = H / h;
  const fx = W / w;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let n = 0;
      for (let yy = Math.floor(y * fy); yy < Math.floor((y + 1) * fy); yy++) {
        for (let xx = Math.floor(x * fx); xx < Math.floor((x + 1) * fx); xx++) {
          sum += mask.data[yy * W + xx];
          n++;
        }
      }
      out[y * w + x] = n ? sum / n : 0;
    }
  }
  return out;
}

export interface GenerateHooks {
  onStep?: (u: StepUpdate) => void | Promise<void>;
  signal?: AbortSignal;
  /** A region whose mask has no weight anywhere is left out; `index` is its place in `req.regions`. */
  onRegionSkipped?: (index: number, prompt: string) => void;
}

export async function generate(runtime: ModelRuntime, req: GenerateRequest, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  const { embeddingsUsed, messages, ...latents } = await sampleLatents(runtime, req, hooks);
  return { latents, image: await decodeLatents(runtime, req.checkpoint, latents, req.vae), embeddingsUsed, messages };
}

/** The VAE decode of final latents, as an image [1, 3, H, W] in [0, 1]. */
export async function decodeLatents(runtime: ModelRuntime, checkpoint: string, latents: Tensor32, vae?: string | null): Promise<Tensor32> {
  const decoded = await runtime.vaeDecode(checkpoint, latents, vae);
  return { shape: decoded.shape, data: decoded.data.map((v) => Math.min(1, Math.max(0, v / 2 + 0.5))) };
}

/** Final latents, with the embeddings the prompts used and what was left out (for the record). */
export interface SampledLatents extends Tensor32 {
  embeddingsUsed: TextualInversion[];
  messages: string[];
}

/** Everything of `generate` but the VAE decode: the final latents [1, 4, h, w]. */

export async function sampleLatents(runtime: ModelRuntime, req: GenerateRequest, hooks: GenerateHooks = {}): Promise<SampledLatents> {
  validateSize(req.width, req.height);
  const h = req.height / 8;
  const w = req.width / 8;
  const latentShape = [1, 4, h, w];
  const sampler = createSampler(req.sampler, req.steps);
  // A1111's prompt editing: each denoiser call takes the context of its step ([2, T, D], [uncond, cond] as
  // diffusers batches them). A1111 counts the calls of this run from 0 against schedules over the full steps,
  // so an img2img run, which starts later, also switches at the call counter.
  const hires = req.hiresSchedule;
  const conditioning = await ScheduledConditioning.prepare(
    runtime,
    req.checkpoint,
    req.prompt,
    req.negative,
    scheduleSteps(hires ? hires.firstPassSteps : req.steps, sampler.order),
    { clipSkip: req.clipSkip, loras: req.loras, embeddings: req.embeddings },
    hires ? { hiresSteps: scheduleSteps(hires.hiresSteps, sampler.order) } : {},
  );
  // Region prompts are padded against the negative and follow prompt editing on the same counter as the main prompt.
  // Each region is feathered once here; its LoRAs and the hints tied to it share that mask and its pooled sizes.
  const regionMasks = featherRegions(req.regions ?? [], req.width, req.height);
  const regions = req.regions?.length
    ? await RegionConditioning.prepare(
        runtime,
        req.checkpoint,
        req.regions,
        req,
        { clipSkip: req.clipSkip, loras: req.loras, embeddings: req.embeddings },
        hooks.onRegionSkipped,
        {
          steps: scheduleSteps(hires ? hires.firstPassSteps : req.steps, sampler.order),
          options: hires ? { hiresSteps: scheduleSteps(hires.hiresSteps, sampler.order) } : {},
        },
        regionMasks,
      )
    : null;
  const generator = new TorchGenerator(req.seed);
  const noise = generator.randn(latentShape);

  let initLatents: Float32Array | undefined;
  let startStep = 0;
  if (req.init) {
    const s = req.init.strength;
    if (!(s > 0 && s <= 1)) throw new GenerateError('bad-request', `img2img strength ${s} must be in (0, 1]`);
    if ('latents' in req.init) {
      if (req.init.latents.data.length !== 4 * h * w) throw new GenerateError('bad-request', `init latents [${req.init.latents.shape.join(', ')}] are not [1, 4, ${h}, ${w}]`);
      initLatents = req.init.latents.data;
    } else initLatents = (await runtime.vaeEncode(req.checkpoint, req.init.image, req.vae)).data;
    // diffusers: init_timestep = int(steps * strength); t_start = steps - init_timestep.
    startStep = req.init.startStep ?? Math.max(req.steps - Math.min(Math.floor(req.steps * s), req.steps), 0);
    if (startStep >= req.steps) throw new GenerateError('bad-request', `img2img strength ${s} leaves no step to run at ${req.steps} steps`);
  }
  const mask = req.mask ? latentMask(req.mask, h, w) : null;
  if (mask && !initLatents) throw new GenerateError('bad-request', 'inpainting needs an init image');

  const controls = await PreparedControls.prepare(runtime, req.checkpoint, req.controls, req.regions, regionMasks);

  const latents = await sampler.sample({
    noise,
    generator,
    startStep,
    initLatents,
    signal: hooks.signal,
    denoise: async (input, timestep, stepIndex, info) => {
      const sample = batchOf([{ shape: latentShape, data: input }, { shape: latentShape, data: input }]);
      const t = Float32Array.of(timestep, timestep);
      const context = await conditioning.contextAt(stepIndex);
      const eps = await controls.eps(runtime, req.checkpoint, sample, t, context, req.loras, stepIndex, info.evaluations, regions ? await regions.at(stepIndex) : null);
      const n = input.length;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = eps[i] + req.cfg * (eps[n + i] - eps[i]);
      return out;
    },
    blend: mask && initLatents ? { mask, init: initLatents, noise } : undefined,
    onStep: hooks.onStep
      ? (r) => hooks.onStep!({ step: r.stepIndex + 1, total: r.evaluations, predicted: r.predictedOriginal, latentHeight: h, latentWidth: w })
      : undefined,
  });
  const embeddingsUsed = [...conditioning.embeddingsUsed];
  for (const e of regions?.embeddingsUsed ?? []) if (!embeddingsUsed.some((u) => u.name === e.name)) embeddingsUsed.push(e);
  return { shape: latentShape, data: latents, embeddingsUsed, messages: [...new Set([...conditioning.embeddingMessages, ...(regions?.notes ?? []), ...controls.messages])] };
}
