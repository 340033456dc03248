// Pictures <-> the pipeline's image tensors: decoding a job's pictures (PNG bytes or raw RGB8), fitting them
// to the generation size with A1111's resize modes, and the conversions between RGB8 pixels [H, W, 3] and
// image tensors [1, C, H, W] in both directions (hints in [0, 1], init pictures in [-1, 1], results back to PNG).

import type { ResizeModeName } from '../../common/generation-contract.ts';
import { decodePng } from '../../formats/png.ts';
import { decodePngWithin } from '../../formats/png-scaled.ts';
import { resizeImage, toGrey, toRgb, type Image8 } from '../../generation/image-resize.ts';
import { TaskError } from '../protocol.ts';
import type { PictureBytes } from '../tasks/generate-payload.ts';
import type { Tensor32 } from './model-runtime.ts';

/** Image [1, 3, H, W] in [0, 1] -> RGB8 pixels [H, W, 3]. */
export function imageToRgb8(image: Float32Array, h: number, w: number, batchIndex = 0): Uint8Array {
  const plane = h * w;
  const base = batchIndex * 3 * plane;
  const out = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.max(0, Math.min(255, Math.round(image[base + c * plane + p] * 255)));
  }
  return out;
}

/** RGB8 pixels [H, W, 3] -> image [1, 3, H, W] in [lo, hi] (control images [0, 1], init images [-1, 1]). */
export function rgb8ToImage(rgb: Uint8Array, h: number, w: number, lo = 0, hi = 1): Float32Array {
  const plane = h * w;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[c * plane + p] = lo + (rgb[p * 3 + c] / 255) * (hi - lo);
  }
  return out;
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
