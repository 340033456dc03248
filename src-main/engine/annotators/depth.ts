// Depth Anything (v1 and v2) as published: the picture in RGB / 255, resized with INTER_CUBIC keeping its
// aspect so that its short side is 518 and both sides are multiples of 14 ("lower_bound" resize), ImageNet
// mean/std; the relative inverse depth it predicts is resized back bilinearly (align_corners=False) and
// min-max normalised to 0..255, so near things are light. A model exported with a fixed input size gets the
// picture resized to that size instead.

import { plane, resize, toFloat, toGrey8, toNchw, type RgbImage } from './image.ts';
import { expectDims, fixedInputSize, output, runImage, type AnnotatorModel } from './model.ts';

export const DEPTH_MEAN = [0.485, 0.456, 0.406];
export const DEPTH_STD = [0.229, 0.224, 0.225];

/** Depth Anything's Resize(518, 518, keep_aspect_ratio, ensure_multiple_of=14, resize_method='lower_bound'). */
export function depthInputSize(width: number, height: number, target = 518, multiple = 14): { width: number; height: number } {
  const scale = Math.max(target / width, target / height);
  const constrain = (x: number) => {
    let y = roundHalfEven(x / multiple) * multiple; // np.round
    if (y < target) y = Math.ceil(x / multiple) * multiple;
    return y;
  };
  return { width: constrain(scale * width), height: constrain(scale * height) };
}

/** The model's input tensor for `picture` (exported for tests). */
export function depthInput(picture: RgbImage, width: number, height: number): Float32Array {
  const resized = resize(toFloat(picture), width, height, 'cubic');
  return toNchw(resized, DEPTH_MEAN.map((m) => m * 255), DEPTH_STD.map((s) => s * 255)); // [1, 3, H, W]
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A grey depth hint of `size` (8-bit, near = light). */
export async function annotateDepth(model: AnnotatorModel, picture: RgbImage, size: { width: number; height: number }): Promise<Uint8Array> {
  const input = fixedInputSize(model) ?? depthInputSize(picture.width, picture.height);
  const outputs = await runImage(model, depthInput(picture, input.width, input.height), input.height, input.width);
  const depth = output(model, outputs, model.sig.outputs[0].name);
  expectDims(model, depth, 'the depth output', (d) => (d.length === 3 && d[0] === 1) || (d.length === 4 && d[0] === 1 && d[1] === 1));
  const [h, w] = depth.dims.slice(-2);
  const resized = resize(plane(depth.data, w, h), size.width, size.height, 'linear'); // [H, W]
  return normalise(resized.data, size.width, size.height);
}

/** Min-max to 0..255; a flat prediction (nothing to tell apart) becomes black. */
function normalise(values: Float32Array, width: number, height: number): Uint8Array {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const range = max - min;
  const out = new Float32Array(values.length);
  if (range > 0) for (let i = 0; i < values.length; i++) out[i] = Number.isFinite(values[i]) ? ((values[i] - min) / range) * 255 : 0;
  return toGrey8(plane(out, width, height));
}
