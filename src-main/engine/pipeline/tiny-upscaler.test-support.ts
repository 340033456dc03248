// Test support (not used by the app): a tiny ESRGAN-shaped image upscaler built with the project's graph
// builder, a 3x3 convolution to 3 * s * s channels then PixelShuffle(s) (torch's channel order c * s * s +
// dy * s + dx, as ESRGAN's upsampler ends), with weights the tests know so they can compute the answer directly.
import fs from 'node:fs';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph, type Node } from '../graph/node.ts';
import { concat, constantOf, conv, reshape, transpose } from '../graph/ops.ts';

/** Weight [co, ci, ky, kx] and bias [co] of the convolution (3 * s * s outputs), small and uneven. */
export function tinyUpscalerWeights(scale: number): { weight: Float32Array; bias: Float32Array } {
  const co = 3 * scale * scale;
  const weight = Float32Array.from({ length: co * 3 * 9 }, (_, i) => Math.sin(i * 0.37 + 0.1) * 0.25 + (i % 9 === 4 && Math.floor(i / 27) % (scale * scale) === 0 ? 0.4 : 0));
  const bias = Float32Array.from({ length: co }, (_, i) => 0.05 * Math.cos(i));
  return { weight, bias };
}

/** The upscaler for pictures of `height` x `width`: input 'image' [1, 3, H, W] -> 'upscaled' [1, 3, sH, sW]. */
export function tinyUpscalerGraph(height: number, width: number, scale = 2): Record<string, Node> {
  const g = new Graph();
  const x = g.input('image', 'float32', [1, 3, height, width]);
  const { weight, bias } = tinyUpscalerWeights(scale);
  const co = 3 * scale * scale;
  const y = conv(x, constantOf(g, 'float32', [co, 3, 3, 3], weight), constantOf(g, 'float32', [co], bias), { pads: [1, 1, 1, 1] }); // [1, 3ss, H, W]
  const split = reshape(y, [1, 3, scale, scale, height, width]);
  const shuffled = transpose(split, [0, 1, 4, 2, 5, 3]); // [1, 3, H, s, W, s]
  return { upscaled: reshape(shuffled, [1, 3, height * scale, width * scale]) };
}

/** Not an upscaler though image-shaped: the picture twice side by side, [1, 3, H, 2W]. */
export function sideBySideGraph(height: number, width: number): Record<string, Node> {
  const g = new Graph();
  const x = g.input('image', 'float32', [1, 3, height, width]);
  return { out: concat([x, x], 3) };
}

export function writeGraph(file: string, outputs: Record<string, Node>): string {
  fs.writeFileSync(file, emitOnnx(outputs).bytes);
  return file;
}
