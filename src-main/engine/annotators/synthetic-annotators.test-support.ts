// Test support (not used by the app): small ONNX models with the published annotators' input and output
// names and shapes, built with the project's graph builder, computing functions whose answers the tests know.
// Shapes are static (the builder's graphs are), so each model takes a picture of one fixed size.

import fs from 'node:fs';
import { emitOnnx } from '../graph/emit-onnx.ts';
import { Graph, type Node } from '../graph/node.ts';
import { add, constantOf, mul, reduce, reshape, scalar, slice, sub, unary } from '../graph/ops.ts';

export type Size = { width: number; height: number };

/** Writes the model computing `outputs` to `file`; returns the file. */
export function writeModel(file: string, outputs: Record<string, Node>): string {
  fs.writeFileSync(file, emitOnnx(outputs).bytes);
  return file;
}

/** `c` plus zero times the picture, so the picture stays the model's input while the answer is `c`. */
function constantOutput(x: Node, shape: number[], values: Float32Array): Node {
  const zero = mul(reduce('ReduceMean', x, [1, 2, 3], false), scalar(x.graph, 0)); // [1]
  return add(constantOf(x.graph, 'float32', shape, values), zero);
}

/** Depth: one input channel (after normalisation) as the depth, [1, H, W] (rank 3) or [1, 1, H, W]. */
export function fakeDepthModel(size: Size, opts: { input?: string; output?: string; channel?: number; rank?: 3 | 4 } = {}): Record<string, Node> {
  const g = new Graph();
  const x = g.input(opts.input ?? 'pixel_values', 'float32', [1, 3, size.height, size.width]);
  const c = opts.channel ?? 0;
  const depth = slice(x, 1, c, c + 1); // [1, 1, H, W]
  return { [opts.output ?? 'predicted_depth']: (opts.rank ?? 3) === 3 ? reshape(depth, [1, size.height, size.width]) : depth };
}

/** Lineart: mean of the channels through Sigmoid(10 (m - 0.5)) (informative drawings) or Tanh(3 m) (anime). */
export function fakeLineartModel(size: Size, convention: 'sigmoid' | 'anime'): Record<string, Node> {
  const g = new Graph();
  const x = g.input('input', 'float32', [1, 3, size.height, size.width]);
  const m = reduce('ReduceMean', x, [1], true); // [1, 1, H, W]
  const line = convention === 'sigmoid' ? unary('Sigmoid', mul(sub(m, scalar(g, 0.5)), scalar(g, 10))) : unary('Tanh', mul(m, scalar(g, 3)));
  return { output: line };
}

/** HED: two side outputs (logits) of the channel mean m (0..255): m * 8/255 - 4 and m * 4/255 - 2. */
export function fakeHedModel(size: Size): Record<string, Node> {
  const g = new Graph();
  const x = g.input('input', 'float32', [1, 3, size.height, size.width]);
  const m = reduce('ReduceMean', x, [1], true); // [1, 1, H, W]
  return {
    side1: sub(mul(m, scalar(g, 8 / 255)), scalar(g, 4)),
    side2: sub(mul(m, scalar(g, 4 / 255)), scalar(g, 2)),
  };
}

/** YOLOX detector [1, 3, 640, 640] -> [1, 8400, 85] holding one person box (letterbox pixels, centre + size). */
export function fakeDetectorModel(box: { cx: number; cy: number; w: number; h: number; score: number }): Record<string, Node> {
  const g = new Graph();
  const x = g.input('images', 'float32', [1, 3, 640, 640]);
  const raw = new Float32Array(8400 * 85); // [1, 8400, 85], objectness 0 everywhere
  const gx = Math.floor(box.cx / 8);
  const gy = Math.floor(box.cy / 8);
  const a = (gy * 80 + gx) * 85; // stride-8 grid: anchors 0..6399, row by row
  raw.set([box.cx / 8 - gx, box.cy / 8 - gy, Math.log(box.w / 8), Math.log(box.h / 8), box.score, 1], a);
  return { output: constantOutput(x, [1, 8400, 85], raw) };
}

/** RTMPose / DWPose: SimCC outputs with a peak of height `score` at each given keypoint (model input pixels). */
export function fakePoseModel(size: Size, keypoints: { index: number; x: number; y: number; score: number }[], count = 133): Record<string, Node> {
  const g = new Graph();
  const x = g.input('input', 'float32', [1, 3, size.height, size.width]);
  const sx = new Float32Array(count * size.width * 2); // [1, K, 2W]
  const sy = new Float32Array(count * size.height * 2); // [1, K, 2H]
  for (const k of keypoints) {
    sx[k.index * size.width * 2 + Math.round(k.x * 2)] = k.score;
    sy[k.index * size.height * 2 + Math.round(k.y * 2)] = k.score;
  }
  return {
    simcc_x: constantOutput(x, [1, count, size.width * 2], sx),
    simcc_y: constantOutput(x, [1, count, size.height * 2], sy),
  };
}

// OpenPose's limb table (body.py), written out again here so the fake model does not borrow the code's own.
const LIMBS: [number, number, number, number][] = [
  [2, 3, 31, 32], [2, 6, 39, 40], [3, 4, 33, 34], [4, 5, 35, 36], [6, 7, 41, 42], [7, 8, 43, 44], [2, 9, 19, 20],
  [9, 10, 21, 22], [10, 11, 23, 24], [2, 12, 25, 26], [12, 13, 27, 28], [13, 14, 29, 30], [2, 1, 47, 48],
  [1, 15, 49, 50], [15, 17, 53, 54], [1, 16, 51, 52], [16, 18, 55, 56], [3, 17, 37, 38], [6, 18, 45, 46],
];

/**
 * OpenPose body model [1, 3, H, W] -> PAFs [1, 38, H/8, W/8] and heatmaps [1, 19, H/8, W/8] of one person:
 * a Gaussian blob (sigma 1 map pixel) at each given joint (0-based part -> map pixels), and for every limb
 * whose two joints are given, its unit direction over the whole PAF.
 */
export function fakeOpenposeModel(size: Size, joints: Map<number, [number, number]>): Record<string, Node> {
  const g = new Graph();
  const x = g.input('image', 'float32', [1, 3, size.height, size.width]);
  const h = size.height / 8;
  const w = size.width / 8;
  const heat = new Float32Array(19 * h * w);
  for (const [part, [jx, jy]] of joints) {
    for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) heat[part * h * w + y * w + xx] = Math.exp(-((xx - jx) ** 2 + (y - jy) ** 2) / 2);
  }
  const paf = new Float32Array(38 * h * w);
  for (const [a, b, cx, cy] of LIMBS) {
    const ja = joints.get(a - 1);
    const jb = joints.get(b - 1);
    if (!ja || !jb) continue;
    const len = Math.hypot(jb[0] - ja[0], jb[1] - ja[1]);
    paf.fill((jb[0] - ja[0]) / len, (cx - 19) * h * w, (cx - 18) * h * w);
    paf.fill((jb[1] - ja[1]) / len, (cy - 19) * h * w, (cy - 18) * h * w);
  }
  return {
    Mconv7_stage6_L1: constantOutput(x, [1, 38, h, w], paf),
    Mconv7_stage6_L2: constantOutput(x, [1, 19, h, w], heat),
  };
}
