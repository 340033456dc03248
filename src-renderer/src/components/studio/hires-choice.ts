// The studio's hires fix choice (this session's, like the generation size): on or off, the upscaler (A1111's
// latent modes, Lanczos, or an upscaler model from the library), upscale by a factor or resize to a size,
// second-pass steps and strength; turned into the request's `hires`, and filled back from a picture's settings
// ("Use these settings").
import type { HiresInput, HiresSettings, HiresUpscaler, ReadHires } from '../../../../src-main/common/hires-contract.ts';

export interface HiresChoice {
  enabled: boolean;
  upscaler: HiresUpscaler;
  /** The library id of the upscaler model when `upscaler` is 'model'. */
  modelId: number | null;
  by: 'scale' | 'size';
  scale: number;
  resizeWidth: number;
  resizeHeight: number;
  steps: number;
  denoise: number;
}

/** A1111's defaults: Latent, x2, steps as the first pass, strength 0.7. */
export const DEFAULT_HIRES: HiresChoice = { enabled: false, upscaler: 'Latent', modelId: null, by: 'scale', scale: 2, resizeWidth: 1024, resizeHeight: 1024, steps: 0, denoise: 0.7 };

/** The request's `hires`, or null when off. */
export function hiresInput(h: HiresChoice): HiresInput | null {
  if (!h.enabled) return null;
  const input: HiresInput = {
    upscaler: h.upscaler,
    scale: h.scale,
    resizeWidth: h.by === 'size' ? h.resizeWidth : 0,
    resizeHeight: h.by === 'size' ? h.resizeHeight : 0,
    steps: h.steps,
    denoise: h.denoise,
  };
  if (h.upscaler === 'model' && h.modelId !== null) input.model = h.modelId;
  return input;
}

/** The choice a picture was made with (a history entry's settings, or those read from a dropped PNG). */
export function hiresChoiceOf(h: HiresSettings | ReadHires | null | undefined): HiresChoice {
  if (!h) return { ...DEFAULT_HIRES };
  const by = h.resizeWidth || h.resizeHeight ? 'size' : 'scale';
  return {
    enabled: true,
    upscaler: h.upscaler,
    modelId: h.model?.id ?? null,
    by,
    scale: h.scale,
    resizeWidth: by === 'size' ? h.resizeWidth : DEFAULT_HIRES.resizeWidth,
    resizeHeight: by === 'size' ? h.resizeHeight : DEFAULT_HIRES.resizeHeight,
    steps: h.steps,
    denoise: h.denoise,
  };
}
