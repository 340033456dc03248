// Hires fix, as A1111's StableDiffusionProcessingTxt2Img.sample_hr_pass runs it, on the engine's pipeline:
//   1. the first pass: txt2img at the base size (sampleLatents);
//   2. the upscale to A1111's hr_upscale_to size (common/hires-contract.ts hiresTarget):
//      - latent modes: torch's interpolate of the first pass's latents (generation/latent-upscale.ts);
//      - pixel modes: the decoded picture as 8-bit RGB (truncated, as A1111's astype(np.uint8)), resized with
//        Lanczos or an ONNX upscaler (image-upscaler.ts), then VAE-encoded;
//      then A1111's truncate cut for a "Resize to" of another aspect ratio;
//   3. the second pass: img2img from those latents at the target size with fresh noise from the same seed at
//      the new size (A1111 makes a new ImageRNG with the picture's seed), over the last N steps of a schedule of
//      int(N / min(denoise, 0.999)) steps (setup_img2img_steps with the steps given).
// Progress counts both passes as one job; a cancel stops either pass within a step.
//
// One difference from A1111, only for a pixel upscaler with a target that is no multiple of 8: A1111 encodes
// the picture at the odd size and the VAE drops the remainder; here the picture is cut to the multiple of 8
// first (same place, same scale), so the encoder sees no partial cell.

import { hiresSecondPass, type HiresTarget } from '../../common/hires-contract.ts';
import { lanczosResize, type Image8 } from '../../generation/image-resize.ts';
import { cropLatents, interpolate, type InterpolateMode } from '../../generation/latent-upscale.ts';
import type { ControlUnit } from './control-units.ts';
import { decodeLatents, sampleLatents, validateSize, type GenerateHooks, type GenerateRequest, type GenerateResult } from './generate.ts';
import type { ImageUpscaler } from './image-upscaler.ts';
import type { ModelRuntime, Tensor32 } from './model-runtime.ts';
import type { RegionRequest } from './regions.ts';

export type HiresUpscale =
  | { kind: 'latent'; mode: InterpolateMode; antialias: boolean }
  | { kind: 'lanczos' }
  | { kind: 'model'; upscaler: ImageUpscaler; tile?: number };

export interface HiresPlan {
  target: HiresTarget;
  upscale: HiresUpscale;
  /** Second-pass steps, 0 = the first pass's. */
  steps: number;
  denoise: number;
  /** The control units again, their hints at the target size (sd-webui-controlnet steers the hires pass too). */
  controls: ControlUnit[];
}

/** The first pass's picture as A1111 hands it to a pixel upscaler: 8-bit RGB, 255 * x truncated. */
export function firstPassPicture(image: Tensor32): Image8 {
  const [, , H, W] = image.shape;
  const plane = H * W;
  const data = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.trunc(255 * image.data[c * plane + p]);
  return { width: W, height: H, channels: 3, data };
}

/** An RGB8 picture cut to `width` x `height` at (x, y), as the VAE's input [1, 3, H, W] in [-1, 1]. */
function encoderInput(img: Image8, x: number, y: number, width: number, height: number): Tensor32 {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let r = 0; r < height; r++) {
    for (let q = 0; q < width; q++) {
      const s = ((r + y) * img.width + q + x) * 3;
      for (let c = 0; c < 3; c++) data[c * plane + r * width + q] = (img.data[s + c] / 255) * 2 - 1;
    }
  }
  return { shape: [1, 3, height, width], data };
}

/** The first pass's latents upscaled to the second pass's grid, as the plan says. */
export async function upscaleFirstPass(runtime: ModelRuntime, checkpoint: string, latents: Tensor32, plan: HiresPlan, signal?: AbortSignal, vae?: string | null): Promise<Tensor32> {
  const t = plan.target;
  const [top, left] = [Math.floor(t.truncateY / 2), Math.floor(t.truncateX / 2)];
  if (plan.upscale.kind === 'latent') {
    const up = interpolate(latents, Math.floor(t.upscaleHeight / 8), Math.floor(t.upscaleWidth / 8), plan.upscale.mode, plan.upscale.antialias);
    return cropLatents(up, top, Math.floor((t.truncateY + 1) / 2), left, Math.floor((t.truncateX + 1) / 2));
  }
  const picture = firstPassPicture(await decodeLatents(runtime, checkpoint, latents, vae));
  signal?.throwIfAborted();
  const up =
    plan.upscale.kind === 'lanczos'
      ? lanczosResize(picture, t.upscaleWidth, t.upscaleHeight)
      : await plan.upscale.upscaler.upscaleTo(picture, t.upscaleWidth, t.upscaleHeight, { tile: plan.upscale.tile, signal });
  signal?.throwIfAborted();
  return runtime.vaeEncode(checkpoint, encoderInput(up, left * 8, top * 8, t.width, t.height), vae);
}

/** The second pass's request: img2img from `latents` at the target size, A1111's step arithmetic. */
export function secondPassRequest(req: GenerateRequest, plan: HiresPlan, latents: Tensor32): GenerateRequest {
  const { scheduleSteps, runSteps } = hiresSecondPass(req.steps, plan.steps, plan.denoise);
  return {
    ...req,
    width: plan.target.width,
    height: plan.target.height,
    steps: scheduleSteps,
    controls: plan.controls,
    init: { latents, strength: plan.denoise, startStep: scheduleSteps - runSteps },
    mask: undefined,
    hiresSchedule: { firstPassSteps: req.steps, hiresSteps: runSteps },
    regions: req.regions?.map((r) => regionAtSize(r, req.width, plan.target.width, plan.target.height)),
  };
}

/**
 * A region's mask for the second pass: resized to the target (bilinear, antialiased when shrinking) with its
 * feather scaled alike, so the region covers the same part of the picture as in the first pass.
 */
function regionAtSize(region: RegionRequest, baseWidth: number, width: number, height: number): RegionRequest {
  return { ...region, mask: interpolate(region.mask, height, width, 'bilinear', true), feather: (region.feather * width) / baseWidth };
}

/** txt2img with hires fix: the picture at the target size. Progress counts the evaluations of both passes. */
export async function generateHires(runtime: ModelRuntime, req: GenerateRequest, plan: HiresPlan, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  if (req.init || req.mask) throw new Error('hires fix is for text-to-image');
  validateSize(plan.target.width, plan.target.height);
  const second = hiresSecondPass(req.steps, plan.steps, plan.denoise).runSteps;
  let firstTotal = req.steps;
  let secondTotal = second;
  const first = await sampleLatents(runtime, req, {
    signal: hooks.signal,
    onStep: (u) => {
      // a second-order sampler reports more evaluations than steps: count the second pass alike
      if (u.total !== firstTotal) secondTotal = Math.round((second * u.total) / req.steps);
      firstTotal = u.total;
      return hooks.onStep?.({ ...u, total: firstTotal + secondTotal });
    },
  });
  hooks.signal?.throwIfAborted();
  const upscaled = await upscaleFirstPass(runtime, req.checkpoint, first, plan, hooks.signal, req.vae);
  hooks.signal?.throwIfAborted();
  const latents = await sampleLatents(runtime, secondPassRequest(req, plan, upscaled), {
    signal: hooks.signal,
    onStep: (u) => {
      secondTotal = u.total;
      return hooks.onStep?.({ ...u, step: firstTotal + u.step, total: firstTotal + secondTotal });
    },
  });
  const { embeddingsUsed: _, messages: __, ...final } = latents;
  return { latents: final, image: await decodeLatents(runtime, req.checkpoint, final, req.vae), embeddingsUsed: first.embeddingsUsed, messages: first.messages };
}
