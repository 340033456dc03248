// What main (or the CLI) sends the engine's 'generate' task, and what it answers. The payload is structured-
// cloned across the process boundary, so pictures travel as bytes: PNG files as they are, or raw RGB8 pixels.
// Also here: turning those pictures into the pipeline's tensors at the generation size (A1111's resize modes).

import type { GenerationSettings, ResizeModeName } from '../../common/generation-contract.ts';
import { decodePng } from '../../formats/png.ts';
import { decodePngWithin } from '../../formats/png-scaled.ts';
import { resizeImage, toGrey, toRgb, type Image8 } from '../../generation/image-resize.ts';
import { rgb8ToImage } from '../pipeline/latent-preview.ts';
import type { Tensor32 } from '../pipeline/model-runtime.ts';
import { TaskError } from '../protocol.ts';

/** A picture: PNG bytes, or RGB8 pixels row-major [H, W, 3]. */
export type PictureBytes = { png: Uint8Array } | { rgb: Uint8Array; width: number; height: number };

export type ComputePrecision = 'auto' | 'float16' | 'float32';

export interface GeneratePayload {
  /** Every setting of the run; `seed` is the first picture's, `batchIndex` is ignored. Model paths inside. */
  settings: GenerationSettings;
  /** One picture per entry of settings.controls, in the same order. */
  controls: PictureBytes[];
  init: PictureBytes | null;
  mask: PictureBytes | null;
  /** float16 on GPU providers and float32 on the CPU unless said otherwise. */
  compute?: ComputePrecision;
  /** Answer each picture's final latents too (the CLI's --latents-out). */
  returnLatents?: boolean;
}

export interface GeneratedPicture {
  /** Position in the run (0-based) and the seed it used: first seed + index. */
  index: number;
  seed: number;
  /** The PNG with its `parameters` text. */
  png: Uint8Array;
  parameters: string;
  settings: GenerationSettings;
  /** [1, 4, H/8, W/8] when asked for. */
  latents?: Float32Array;
  latentShape: number[];
}

export interface GenerateTaskResult {
  pictures: GeneratedPicture[];
  provider: string;
  compute: 'float16' | 'float32';
  /** Fused graphs the provider refused so far, each in one line (runtime/fusions.ts): the plain graphs ran. */
  fallbacks: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPicture(v: unknown): v is PictureBytes {
  if (!isObject(v)) return false;
  if (v.png instanceof Uint8Array) return true;
  return v.rgb instanceof Uint8Array && Number.isSafeInteger(v.width) && Number.isSafeInteger(v.height);
}

/** Shape checks of a payload (main validated the values; this catches a caller that built it wrong). */
export function checkPayload(payload: unknown): GeneratePayload {
  const bad = (what: string) => new TaskError('bad-request', `generate: ${what}`);
  if (!isObject(payload) || !isObject(payload.settings)) throw bad('the payload needs settings');
  const s = payload.settings as unknown as GenerationSettings;
  if (!isObject(s.checkpoint) || typeof s.checkpoint.path !== 'string') throw bad('settings.checkpoint.path is missing');
  if (!Array.isArray(s.controls) || !Array.isArray(s.loras)) throw bad('settings.controls and settings.loras must be lists');
  const controls = payload.controls;
  if (!Array.isArray(controls) || controls.length !== s.controls.length || !controls.every(isPicture)) {
    throw bad('one control picture per control unit is needed');
  }
  for (const key of ['init', 'mask'] as const) {
    if (payload[key] !== null && payload[key] !== undefined && !isPicture(payload[key])) throw bad(`${key} is not a picture`);
  }
  if ((payload.mask ?? null) !== null && (payload.init ?? null) === null) throw bad('a mask needs an init picture');
  for (const [name, n, lo, hi] of [
    ['steps', s.steps, 1, 150],
    ['batchSize', s.batchSize, 1, 64],
    ['batchCount', s.batchCount, 1, 1000],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < lo || n > hi) throw bad(`settings.${name} must be an integer from ${lo} to ${hi}`);
  }
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw bad('settings.seed must be a non-negative integer');
  return {
    settings: s,
    controls: controls as PictureBytes[],
    init: (payload.init as PictureBytes | null | undefined) ?? null,
    mask: (payload.mask as PictureBytes | null | undefined) ?? null,
    compute: (['auto', 'float16', 'float32'] as const).find((c) => c === payload.compute) ?? 'auto',
    returnLatents: payload.returnLatents === true,
  };
}

/** Decodes a picture to 8-bit RGB (alpha dropped, grey expanded); a broken PNG names `what`. */
export function decodePicture(p: PictureBytes, what: string): Image8 {
  if ('png' in p) {
    try {
      return toRgb(decodePng(p.png, { source: what, maxPixels: 8192 * 8192 }));
    } catch (err) {
      throw new TaskError('bad-image', (err as Error).message);
    }
  }
  if (p.width < 1 || p.height < 1 || p.rgb.length !== p.width * p.height * 3) {
    throw new TaskError('bad-image', `${what}: ${p.rgb.length} bytes are not ${p.width} x ${p.height} RGB pixels`);
  }
  return { width: p.width, height: p.height, channels: 3, data: p.rgb };
}

/**
 * A picture as RGB bytes no larger than what still covers `width` x `height`, shrunk while it is decoded
 * (decodePngWithin): an 8192x8192 16-bit picture for a 512x512 job never exists at full size in memory.
 * The exact resize (crop, fill) follows in controlTensor, initTensor and maskTensor.
 */
export async function fittedPicture(p: PictureBytes, width: number, height: number, what: string): Promise<PictureBytes> {
  if (!('png' in p)) return p;
  try {
    const img = toRgb(await decodePngWithin(p.png, { source: what, maxPixels: 8192 * 8192, within: { width, height } }));
    return { rgb: img.data, width: img.width, height: img.height };
  } catch (err) {
    throw new TaskError('bad-image', (err as Error).message);
  }
}

/** A hint at the generation size: [1, 3, H, W] in [0, 1]. */
export function controlTensor(p: PictureBytes, mode: ResizeModeName, width: number, height: number, what: string): Tensor32 {
  const img = resizeImage(decodePicture(p, what), mode, width, height);
  return { shape: [1, 3, height, width], data: rgb8ToImage(img.data, height, width, 0, 1) };
}

/** An img2img start picture: [1, 3, H, W] in [-1, 1]. */
export function initTensor(p: PictureBytes, mode: ResizeModeName, width: number, height: number): Tensor32 {
  const img = resizeImage(decodePicture(p, 'init image'), mode, width, height);
  return { shape: [1, 3, height, width], data: rgb8ToImage(img.data, height, width, -1, 1) };
}

/** An inpainting mask: grey (Pillow's luma), resized like the init picture, [1, 1, H, W] in [0, 1], 1 = repaint. */
export function maskTensor(p: PictureBytes, mode: ResizeModeName, width: number, height: number): Tensor32 {
  const grey = resizeImage(toGrey(decodePicture(p, 'mask')), mode, width, height);
  return { shape: [1, 1, height, width], data: Float32Array.from(grey.data, (v) => v / 255) };
}
