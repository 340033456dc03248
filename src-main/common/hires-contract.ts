// Hires fix as A1111 does it (processing.py, StableDiffusionProcessingTxt2Img): generate at the base size,
// upscale (in latent space with torch's interpolate, or in pixel space with Lanczos or an ESRGAN-family ONNX
// upscaler from the library), then a second img2img pass at the target size with its own steps and denoising
// strength. This module holds the request and record shapes, their validator and A1111's size and step
// arithmetic, shared by the renderer, main, the CLI and the engine. Pure module: no Node, Electron or DOM imports.

import { ContractError } from './errors.ts';
import { fields, int, model, num, oneOf } from './field-validators.ts';
import type { ModelSelector } from './field-validators.ts';
import type { ModelRef, ReadModel } from './model-refs.ts';

/** A1111's `latent_upscale_modes` (modules/shared_items): its names, each a torch interpolate mode. */
export const LATENT_UPSCALERS = {
  Latent: { mode: 'bilinear', antialias: false },
  'Latent (antialiased)': { mode: 'bilinear', antialias: true },
  'Latent (bicubic)': { mode: 'bicubic', antialias: false },
  'Latent (bicubic antialiased)': { mode: 'bicubic', antialias: true },
  'Latent (nearest)': { mode: 'nearest', antialias: false },
  'Latent (nearest-exact)': { mode: 'nearest-exact', antialias: false },
} as const;

export type LatentUpscalerName = keyof typeof LATENT_UPSCALERS;
/** 'model': an ESRGAN-family ONNX upscaler in the library (A1111 writes its name, the file's stem). */
export type HiresUpscaler = LatentUpscalerName | 'Lanczos' | 'model';
export const HIRES_UPSCALERS: readonly HiresUpscaler[] = [...(Object.keys(LATENT_UPSCALERS) as LatentUpscalerName[]), 'Lanczos', 'model'];

export const isLatentUpscaler = (u: string): u is LatentUpscalerName => Object.hasOwn(LATENT_UPSCALERS, u);

/** The largest side the engine generates (pipeline/generate.ts validateSize). */
export const MAX_SIDE = 2048;
/** The longest sampler schedule a second pass may stretch to (steps / denoising strength). */
export const MAX_SCHEDULE_STEPS = 1000;

export interface HiresInput {
  upscaler: HiresUpscaler;
  /** upscaler 'model': the upscaler's library id or path. */
  model?: ModelSelector;
  /** A1111's "Upscale by" (1..4), used when resizeWidth and resizeHeight are both 0. */
  scale: number;
  /** A1111's "Resize width/height to": 0, or a multiple of 8; one of them 0 keeps the aspect ratio. */
  resizeWidth: number;
  resizeHeight: number;
  /** Second-pass steps; 0 = as many as the first pass (A1111's "Hires steps" 0). */
  steps: number;
  /** The second pass's denoising strength. */
  denoise: number;
}

/** What a picture's record keeps of its hires fix (the upscaler model resolved against the library). */
export interface HiresSettings extends Omit<HiresInput, 'model'> {
  model: ModelRef | null;
}

/** Hires settings read from an A1111 PNG; `upscalerName` as written, `model` matched by name when not built in. */
export interface ReadHires extends Omit<HiresInput, 'model'> {
  upscalerName: string;
  model: ReadModel | null;
}

/**
 * A1111's calculate_target_resolution: the size the first pass is upscaled to, and how much of it (in latent
 * cells, A1111's truncate_x/y) is cut off so a "Resize to" of another aspect ratio is filled, not stretched.
 * `width` x `height` is the final picture: the upscaled latent grid after the cut, times 8.
 */
export interface HiresTarget {
  upscaleWidth: number;
  upscaleHeight: number;
  truncateX: number;
  truncateY: number;
  width: number;
  height: number;
}

export function hiresTarget(baseWidth: number, baseHeight: number, h: Pick<HiresInput, 'scale' | 'resizeWidth' | 'resizeHeight'>): HiresTarget {
  let upscaleWidth: number;
  let upscaleHeight: number;
  let truncateX = 0;
  let truncateY = 0;
  const floorDiv = (a: number, b: number) => Math.floor(a / b);
  if (h.resizeWidth === 0 && h.resizeHeight === 0) {
    upscaleWidth = Math.trunc(baseWidth * h.scale);
    upscaleHeight = Math.trunc(baseHeight * h.scale);
  } else if (h.resizeHeight === 0) {
    upscaleWidth = h.resizeWidth;
    upscaleHeight = floorDiv(h.resizeWidth * baseHeight, baseWidth);
  } else if (h.resizeWidth === 0) {
    upscaleWidth = floorDiv(h.resizeHeight * baseWidth, baseHeight);
    upscaleHeight = h.resizeHeight;
  } else {
    if (baseWidth / baseHeight < h.resizeWidth / h.resizeHeight) {
      upscaleWidth = h.resizeWidth;
      upscaleHeight = floorDiv(h.resizeWidth * baseHeight, baseWidth);
    } else {
      upscaleWidth = floorDiv(h.resizeHeight * baseWidth, baseHeight);
      upscaleHeight = h.resizeHeight;
    }
    truncateX = floorDiv(upscaleWidth - h.resizeWidth, 8);
    truncateY = floorDiv(upscaleHeight - h.resizeHeight, 8);
  }
  // the latents are interpolated to upscale // 8, then truncate cells are cut (half before, half after)
  const width = (floorDiv(upscaleWidth, 8) - truncateX) * 8;
  const height = (floorDiv(upscaleHeight, 8) - truncateY) * 8;
  return { upscaleWidth, upscaleHeight, truncateX, truncateY, width, height };
}

/**
 * The second pass's schedule, as A1111's setup_img2img_steps runs it when the steps are given (always, for
 * hires): a schedule of int(steps / min(denoise, 0.999)) steps of which the last `steps` run.
 */
export function hiresSecondPass(firstSteps: number, hiresSteps: number, denoise: number): { scheduleSteps: number; runSteps: number } {
  const runSteps = hiresSteps || firstSteps;
  return { scheduleSteps: Math.trunc(runSteps / Math.min(denoise, 0.999)), runSteps };
}

/** A1111's "Hires upscaler" name for the settings. */
export function hiresUpscalerLabel(h: Pick<HiresSettings, 'upscaler' | 'model'>): string {
  return h.upscaler === 'model' ? (h.model?.name.replace(/\.onnx$/i, '') ?? 'model') : h.upscaler;
}

/** Refuses what the engine could not run, before anything runs: a target above the size limit, a schedule too long. */
export function checkHires(baseWidth: number, baseHeight: number, firstSteps: number, h: Omit<HiresInput, 'model'>): HiresTarget {
  const t = hiresTarget(baseWidth, baseHeight, h);
  if (t.width > MAX_SIDE || t.height > MAX_SIDE) {
    const how = h.resizeWidth || h.resizeHeight ? `resizing to ${h.resizeWidth}x${h.resizeHeight}` : `upscaling by ${h.scale}`;
    throw new ContractError(
      `hires fix: ${how} makes ${baseWidth}x${baseHeight} into ${t.width}x${t.height}, above the largest size the engine generates (${MAX_SIDE} px a side)`,
    );
  }
  if (t.width < 64 || t.height < 64) throw new ContractError(`hires fix: the target ${t.width}x${t.height} is below 64 px a side`);
  const pass = hiresSecondPass(firstSteps, h.steps, h.denoise);
  if (pass.scheduleSteps > MAX_SCHEDULE_STEPS) {
    throw new ContractError(
      `hires fix: ${pass.runSteps} steps at denoising strength ${h.denoise} stretch the schedule to ${pass.scheduleSteps} steps (at most ${MAX_SCHEDULE_STEPS}); raise the strength or lower the steps`,
    );
  }
  return t;
}

export function validateHires(value: unknown, baseWidth: number, baseHeight: number, firstSteps: number): HiresInput {
  const r = fields(value, 'hires', ['upscaler', 'model', 'scale', 'resizeWidth', 'resizeHeight', 'steps', 'denoise']);
  const side = (v: unknown, what: string) => {
    const n = int(v, what, 0, MAX_SIDE, 0);
    if (n !== 0 && (n < 64 || n % 8 !== 0)) throw new ContractError(`${what} must be 0 or a multiple of 8 from 64 to ${MAX_SIDE}`);
    return n;
  };
  const upscaler = oneOf(r.upscaler, 'hires.upscaler', HIRES_UPSCALERS, 'Latent');
  const h: HiresInput = {
    upscaler,
    scale: num(r.scale, 'hires.scale', 1, 4, 2),
    resizeWidth: side(r.resizeWidth, 'hires.resizeWidth'),
    resizeHeight: side(r.resizeHeight, 'hires.resizeHeight'),
    steps: int(r.steps, 'hires.steps', 0, 150, 0),
    denoise: num(r.denoise, 'hires.denoise', 0.01, 1, 0.7),
  };
  if (upscaler === 'model') h.model = model(r.model, 'hires.model');
  else if (r.model !== undefined) throw new ContractError(`hires.model is only for the upscaler 'model', not ${upscaler}`);
  checkHires(baseWidth, baseHeight, firstSteps, h);
  return h;
}
