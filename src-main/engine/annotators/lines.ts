// Line hints as the published ControlNet annotators make them, ending in the control models' convention:
// white lines on black.
// - Informative Drawings lineart: picture resized so its short side is 512 (sides multiples of 64), RGB / 255
//   in, a Sigmoid map of dark lines on white out; x255 (truncated to 8 bits), resized, then inverted.
// - lineart_anime: as above but sides padded up to multiples of 256, input in [-1, 1], a Tanh map out,
//   (v + 1) / 2, resized with INTER_CUBIC, inverted.
// - HED (ControlNet's Apache-2 HED): RGB 0..255 in, side outputs (logits) resized to the picture, averaged,
//   sigmoid; already white edges on black. A fused output that ends in a Sigmoid is used as it is.
// Models exported with a fixed input size get the picture resized to that size instead.

import { detectSize, plane, resize, resizeRgb, toGrey8, toNchw, type FloatImage, type RgbImage } from './image.ts';
import { expectDims, fixedInputSize, output, runImage, type AnnotatorModel, type FloatTensor } from './model.ts';

type Size = { width: number; height: number };

/** The picture at the detect resolution, resized as ControlNet's resize_image does (area down, cubic up). */
function atDetectSize(picture: RgbImage, size: Size): RgbImage {
  const shrinking = size.width * size.height < picture.width * picture.height;
  return resizeRgb(picture, size.width, size.height, shrinking ? 'area' : 'cubic');
}

/** One [1, 1, h, w] map as a plane. */
function mapOf(model: AnnotatorModel, t: FloatTensor, what: string): FloatImage {
  expectDims(model, t, what, (d) => d.length === 4 && d[0] === 1 && d[1] === 1);
  return plane(t.data, t.dims[3], t.dims[2]);
}

function invert(img: FloatImage): FloatImage {
  return { ...img, data: img.data.map((v) => 255 - v) };
}

const floor8 = (img: FloatImage): FloatImage => ({ ...img, data: img.data.map((v) => Math.floor(Math.min(255, Math.max(0, v)))) });

/** A lineart hint of `size`: 8-bit grey, white lines on black. */
export async function annotateLineart(model: AnnotatorModel, picture: RgbImage, size: Size): Promise<Uint8Array> {
  const anime = model.info.details.convention === 'anime';
  const base = detectSize(picture.width, picture.height);
  const fixed = fixedInputSize(model);
  const input = fixed ?? (anime ? { width: Math.ceil(base.width / 256) * 256, height: Math.ceil(base.height / 256) * 256 } : base);
  const scaled = anime && !fixed ? resizeRgb(atDetectSize(picture, base), input.width, input.height, 'cubic') : atDetectSize(picture, input);
  const tensor = anime ? toNchw(scaled, [127.5, 127.5, 127.5], [127.5, 127.5, 127.5]) : toNchw(scaled, [0, 0, 0], [255, 255, 255]);
  const outputs = await runImage(model, tensor, input.height, input.width);
  const line = mapOf(model, output(model, outputs, model.sig.outputs[0].name), 'the lineart output');
  if (anime) {
    const unit = { ...line, data: line.data.map((v) => (v + 1) / 2) };
    const resized = resize(unit, size.width, size.height, 'cubic');
    return toGrey8(invert(floor8({ ...resized, data: resized.data.map((v) => Math.min(1, Math.max(0, v)) * 255) })));
  }
  const dark = floor8({ ...line, data: line.data.map((v) => v * 255) }); // dark lines on white, as 8-bit
  return toGrey8(invert(resize(dark, size.width, size.height, 'linear')));
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A soft edge hint of `size`: 8-bit grey, white edges on black. */
export async function annotateHed(model: AnnotatorModel, picture: RgbImage, size: Size): Promise<Uint8Array> {
  const input = fixedInputSize(model) ?? detectSize(picture.width, picture.height);
  const scaled = atDetectSize(picture, input);
  const outputs = await runImage(model, toNchw(scaled, [0, 0, 0], [1, 1, 1]), input.height, input.width);
  const names = model.sig.outputs.map((o) => o.name);
  const sum = new Float32Array(input.width * input.height);
  for (const name of names) {
    const side = resize(mapOf(model, output(model, outputs, name), `edge output '${name}'`), input.width, input.height, 'linear');
    for (let i = 0; i < sum.length; i++) sum[i] += side.data[i];
  }
  const inModel = names.length === 1 && model.sig.outputOps[names[0]] === 'Sigmoid';
  const edge = sum.map((v) => (inModel ? v : sigmoid(v / names.length)) * 255);
  return toGrey8(resize(floor8(plane(edge, input.width, input.height)), size.width, size.height, 'linear'));
}
