// The original OpenPose body model as ControlNet's annotator runs it (annotator/openpose/body.py), one scale:
// the picture in BGR resized (INTER_CUBIC) to half of 368 px high, padded right and down to a multiple of 8
// with 128, fed as v / 256 - 0.5; its heatmaps (19) and part-affinity fields (38) are enlarged x8, unpadded
// and resized to the picture (INTER_CUBIC). Peaks of each Gaussian-smoothed (sigma 3) heatmap above 0.1
// are the candidate joints; limbs are scored along their PAF and assembled into people (openpose-assemble.ts).
// A model exported with a fixed input size gets the picture scaled to fit it instead (padded the same way).
// Pictures larger than 1024 px are worked on at 1024 px (the maps are picture-sized) and scaled back.

import type { AnnotatedPerson } from '../../common/contract.ts';
import { resize, resizeRgb, toNchw, type FloatImage, type RgbImage } from './image.ts';
import { expectDims, fixedInputSize, runImage, type AnnotatorModel, type FloatTensor } from './model.ts';
import { assemblePeople, type Peak } from './openpose-assemble.ts';

const BOX_SIZE = 368;
const SCALE = 0.5;
const STRIDE = 8;
const PAD_VALUE = 128;
const PEAK_THRESHOLD = 0.1;
const MAX_WORK_SIDE = 1024;

/** The padded network input for `picture`: its size, the scaled picture's size inside it. */
export function openposeInputSize(model: AnnotatorModel, width: number, height: number) {
  const fixed = fixedInputSize(model);
  const scale = fixed ? Math.min(fixed.width / width, fixed.height / height) : (SCALE * BOX_SIZE) / height;
  const inner = { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
  const padded = fixed ?? { width: Math.ceil(inner.width / STRIDE) * STRIDE, height: Math.ceil(inner.height / STRIDE) * STRIDE };
  return { inner, padded };
}

/** NCHW [1, C, h, w] -> interleaved [h, w, C]. */
function interleave(t: FloatTensor): FloatImage {
  const [, C, h, w] = t.dims;
  const data = new Float32Array(C * h * w);
  for (let c = 0; c < C; c++) for (let i = 0; i < h * w; i++) data[i * C + c] = t.data[c * h * w + i];
  return { width: w, height: h, channels: C, data };
}

/** x8, cut the padding off, then to width x height: as body.py treats both maps. */
function toPicture(map: FloatImage, inner: { width: number; height: number }, width: number, height: number): FloatImage {
  const big = resize(map, map.width * STRIDE, map.height * STRIDE, 'cubic');
  const C = big.channels;
  const cut = new Float32Array(inner.width * inner.height * C);
  for (let y = 0; y < inner.height; y++) cut.set(big.data.subarray(y * big.width * C, (y * big.width + inner.width) * C), y * inner.width * C);
  return resize({ width: inner.width, height: inner.height, channels: C, data: cut }, width, height, 'cubic');
}

/** scipy.ndimage.gaussian_filter(sigma, truncate=4), mode 'reflect', on one channel of `map`. */
export function gaussianChannel(map: FloatImage, channel: number, sigma = 3): Float32Array {
  const { width: W, height: H, channels: C } = map;
  const radius = Math.floor(4 * sigma + 0.5);
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-0.5 * ((i - radius) / sigma) ** 2));
  const total = kernel.reduce((a, b) => a + b, 0);
  for (let i = 0; i < kernel.length; i++) kernel[i] /= total;
  const reflect = (i: number, n: number) => {
    for (;;) {
      if (i < 0) i = -i - 1;
      else if (i >= n) i = 2 * n - i - 1;
      else return i;
    }
  };
  // Rows: each copied with `radius` reflected samples at both ends, then convolved without branches.
  const rows = new Float32Array(W * H);
  const line = new Float32Array(W + 2 * radius);
  for (let y = 0; y < H; y++) {
    for (let i = -radius; i < W + radius; i++) line[i + radius] = map.data[(y * W + reflect(i, W)) * C + channel];
    for (let x = 0; x < W; x++) {
      let sum = 0;
      for (let k = 0; k < kernel.length; k++) sum += kernel[k] * line[x + k];
      rows[y * W + x] = sum;
    }
  }
  // Columns: whole rows accumulated at once, so memory is read in order.
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const o = y * W;
    for (let k = 0; k < kernel.length; k++) {
      const w = kernel[k];
      const r = reflect(y + k - radius, H) * W;
      for (let x = 0; x < W; x++) out[o + x] += w * rows[r + x];
    }
  }
  return out;
}

/** Local maxima (>= the 4 neighbours, zero outside) of the smoothed heatmaps above 0.1, per part, in row order. */
export function findPeaks(heat: FloatImage, parts = 18): Peak[][] {
  const { width: W, height: H, channels: C } = heat;
  const all: Peak[][] = [];
  let id = 0;
  for (let part = 0; part < parts; part++) {
    const s = gaussianChannel(heat, part);
    const at = (x: number, y: number) => (x < 0 || y < 0 || x >= W || y >= H ? 0 : s[y * W + x]);
    const peaks: Peak[] = [];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = s[y * W + x];
        if (v > PEAK_THRESHOLD && v >= at(x, y - 1) && v >= at(x, y + 1) && v >= at(x - 1, y) && v >= at(x + 1, y)) {
          peaks.push({ x, y, score: heat.data[(y * W + x) * C + part], id: id++ });
        }
      }
    }
    all.push(peaks);
  }
  return all;
}

/** Every person the OpenPose body model finds, 18 keypoints each, in picture pixels. */
export async function annotateOpenpose(model: AnnotatorModel, picture: RgbImage, step: (message: string) => void = () => {}): Promise<AnnotatedPerson[]> {
  const shrink = Math.min(1, MAX_WORK_SIDE / Math.max(picture.width, picture.height));
  const work = shrink < 1 ? resizeRgb(picture, Math.round(picture.width * shrink), Math.round(picture.height * shrink), 'area') : picture;
  const { inner, padded } = openposeInputSize(model, work.width, work.height);
  const scaled = resizeRgb(work, inner.width, inner.height, 'cubic');
  const canvas = new Uint8Array(padded.width * padded.height * 3).fill(PAD_VALUE); // [H, W, 3]
  for (let y = 0; y < inner.height; y++) canvas.set(scaled.data.subarray(y * inner.width * 3, (y + 1) * inner.width * 3), y * padded.width * 3);
  const bgr = toNchw({ ...padded, data: canvas }, [128, 128, 128], [256, 256, 256], [2, 1, 0]); // v / 256 - 0.5
  const outputs = await runImage(model, bgr, padded.height, padded.width);
  const maps = Object.values(outputs);
  const paf = maps.find((t) => t.dims.length === 4 && t.dims[1] === 38);
  const heat = maps.find((t) => t.dims.length === 4 && t.dims[1] === 19);
  const shapeOk = (d: number[]) => d[0] === 1 && d[2] * STRIDE >= inner.height && d[3] * STRIDE >= inner.width;
  expectDims(model, paf ?? { dims: [], data: new Float32Array() }, 'the PAF output', shapeOk);
  expectDims(model, heat ?? { dims: [], data: new Float32Array() }, 'the heatmap output', shapeOk);
  step('Finding joints');
  const heatmaps = toPicture(interleave(heat!), inner, work.width, work.height); // [H, W, 19]
  const peaks = findPeaks(heatmaps);
  step('Connecting limbs');
  const fields = toPicture(interleave(paf!), inner, work.width, work.height); // [H, W, 38]
  const people = assemblePeople(peaks, fields, work.height);
  const back = 1 / shrink;
  return people.map((p) => ({ ...p, keypoints: p.keypoints.map((k) => ({ ...k, x: k.x * back, y: k.y * back })) }));
}
