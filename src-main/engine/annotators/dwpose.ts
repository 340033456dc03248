// DWPose as its ControlNet annotator runs it with ONNX (annotator/dwpose: onnxdet.py, onnxpose.py,
// wholebody.py), on the RGB picture:
// 1. YOLOX finds people: the picture letterboxed into 640x640 (scaled by r to fit, top-left, the rest grey
//    114, raw 0..255); its [1, 8400, 85] output decoded on the 8/16/32 stride grids, boxes divided by r,
//    class-aware NMS (score > 0.1, IoU 0.45), then persons (class 0) scoring above 0.3.
// 2. RTMPose looks inside each box: the box padded 1.25x and widened to the model's aspect, cropped by an
//    affine warp to the model's input (192x256 or 288x384), ImageNet mean/std in 0..255; its SimCC outputs
//    decoded by argmax / split ratio (2), the score being the smaller of the two maxima.
// 3. The 133 COCO-WholeBody keypoints become OpenPose's 18: the neck is the mid-shoulders (visible when both
//    shoulders score above 0.3), the others are reordered; a keypoint is visible when it scores above 0.3.
// With no person found, the whole picture is looked at as one box, as the published code does.

import type { AnnotatedPerson } from '../../common/contract.ts';
import { resizeRgb, toNchw, type RgbImage } from './image.ts';
import { AnnotatorError, expectDims, fixedInputSize, output, runImage, type AnnotatorModel } from './model.ts';

export interface PersonBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

const STRIDES = [8, 16, 32];
const POSE_MEAN = [123.675, 116.28, 103.53];
const POSE_STD = [58.395, 57.12, 57.375];
export const VISIBLE_SCORE = 0.3;

/** OpenPose index -> COCO(-WholeBody) index; -1 is the neck (mid-shoulders). */
export const OPENPOSE_FROM_COCO = [0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3];

/** The people YOLOX finds in `picture`, in picture pixels. */
export async function detectPeople(model: AnnotatorModel, picture: RgbImage): Promise<PersonBox[]> {
  const input = fixedInputSize(model) ?? { width: 640, height: 640 };
  const r = Math.min(input.height / picture.height, input.width / picture.width);
  const rw = Math.max(1, Math.floor(picture.width * r));
  const rh = Math.max(1, Math.floor(picture.height * r));
  const resized = resizeRgb(picture, rw, rh, 'linear');
  const padded = new Uint8Array(input.width * input.height * 3).fill(114); // [640, 640, 3]
  for (let y = 0; y < rh; y++) padded.set(resized.data.subarray(y * rw * 3, (y + 1) * rw * 3), y * input.width * 3);
  const tensor = toNchw({ width: input.width, height: input.height, data: padded }, [0, 0, 0], [1, 1, 1]);
  const outputs = await runImage(model, tensor, input.height, input.width);
  const raw = output(model, outputs, model.sig.outputs.find((o) => o.dims.length === 3 && o.dims[2] === 85)?.name ?? '');
  const anchors = STRIDES.reduce((n, s) => n + Math.floor(input.height / s) * Math.floor(input.width / s), 0);
  expectDims(model, raw, 'the detector output', (d) => d.length === 3 && d[0] === 1 && d[1] === anchors && d[2] === 85);

  const candidates: PersonBox[] = [];
  let a = 0;
  for (const stride of STRIDES) {
    const hs = Math.floor(input.height / stride);
    const ws = Math.floor(input.width / stride);
    for (let gy = 0; gy < hs; gy++) {
      for (let gx = 0; gx < ws; gx++, a++) {
        const p = raw.data.subarray(a * 85, a * 85 + 85);
        const score = p[4] * p[5]; // objectness x person
        if (!(score > 0.1)) continue;
        const cx = (p[0] + gx) * stride;
        const cy = (p[1] + gy) * stride;
        const w = Math.exp(p[2]) * stride;
        const h = Math.exp(p[3]) * stride;
        candidates.push({ x1: (cx - w / 2) / r, y1: (cy - h / 2) / r, x2: (cx + w / 2) / r, y2: (cy + h / 2) / r, score });
      }
    }
  }
  return nms(candidates, 0.45).filter((b) => b.score > 0.3);
}

/** Single-class NMS as onnxdet.py writes it (areas with the +1 pixel convention). */
export function nms(boxes: PersonBox[], threshold: number): PersonBox[] {
  const order = [...boxes].sort((p, q) => q.score - p.score);
  const area = (b: PersonBox) => (b.x2 - b.x1 + 1) * (b.y2 - b.y1 + 1);
  const keep: PersonBox[] = [];
  let rest = order;
  while (rest.length > 0) {
    const best = rest[0];
    keep.push(best);
    rest = rest.slice(1).filter((b) => {
      const w = Math.max(0, Math.min(best.x2, b.x2) - Math.max(best.x1, b.x1) + 1);
      const h = Math.max(0, Math.min(best.y2, b.y2) - Math.max(best.y1, b.y1) + 1);
      const inter = w * h;
      return inter / (area(best) + area(b) - inter) <= threshold;
    });
  }
  return keep;
}

export interface PoseCrop {
  center: [number, number];
  /** Box size after padding and the aspect fix: [w, h]. */
  scale: [number, number];
}

/** bbox_xyxy2cs(padding=1.25) then _fix_aspect_ratio to the model's w / h. */
export function poseCrop(box: PersonBox, width: number, height: number): PoseCrop {
  const center: [number, number] = [(box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2];
  const w = (box.x2 - box.x1) * 1.25;
  const h = (box.y2 - box.y1) * 1.25;
  const aspect = width / height;
  return { center, scale: w > h * aspect ? [w, w / aspect] : [h * aspect, h] };
}

/** cv2.warpAffine of the crop to width x height: bilinear, black outside the picture, rounded to 8 bits. */
function warpCrop(picture: RgbImage, crop: PoseCrop, width: number, height: number): RgbImage {
  const s = width / crop.scale[0];
  const out = new Uint8Array(width * height * 3); // [H, W, 3]
  const px = (x: number, y: number, c: number) =>
    x < 0 || y < 0 || x >= picture.width || y >= picture.height ? 0 : picture.data[(y * picture.width + x) * 3 + c];
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const sx = (u - width / 2) / s + crop.center[0];
      const sy = (v - height / 2) / s + crop.center[1];
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let c = 0; c < 3; c++) {
        const top = px(x0, y0, c) * (1 - fx) + px(x0 + 1, y0, c) * fx;
        const bottom = px(x0, y0 + 1, c) * (1 - fx) + px(x0 + 1, y0 + 1, c) * fx;
        out[(v * width + u) * 3 + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width, height, data: out };
}

/** Keypoints [K, 2] in picture pixels and their scores [K] for the person in `box`. */
export async function estimatePose(model: AnnotatorModel, picture: RgbImage, box: PersonBox): Promise<{ points: Float64Array; scores: Float64Array }> {
  const input = fixedInputSize(model) ?? { width: 192, height: 256 };
  const crop = poseCrop(box, input.width, input.height);
  const tensor = toNchw(warpCrop(picture, crop, input.width, input.height), POSE_MEAN, POSE_STD);
  const outputs = await runImage(model, tensor, input.height, input.width);
  const xName = model.sig.outputs.find((o) => /simcc_x/i.test(o.name))?.name ?? '';
  const yName = model.sig.outputs.find((o) => /simcc_y/i.test(o.name))?.name ?? '';
  const sx = output(model, outputs, xName);
  const sy = output(model, outputs, yName);
  expectDims(model, sx, 'simcc_x', (d) => d.length === 3 && d[0] === 1 && d[1] >= 17);
  expectDims(model, sy, 'simcc_y', (d) => d.length === 3 && d[0] === 1 && d[1] === sx.dims[1]);
  const [, K, Wx] = sx.dims;
  const Wy = sy.dims[2];
  const ratio = Wx / input.width; // simcc_split_ratio, 2 in every published model
  const points = new Float64Array(K * 2);
  const scores = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const [ix, vx] = argmax(sx.data, k * Wx, Wx);
    const [iy, vy] = argmax(sy.data, k * Wy, Wy);
    const score = Math.min(vx, vy);
    const lx = score <= 0 ? -1 : ix;
    const ly = score <= 0 ? -1 : iy;
    points[k * 2] = (lx / ratio / input.width) * crop.scale[0] + crop.center[0] - crop.scale[0] / 2;
    points[k * 2 + 1] = (ly / ratio / input.height) * crop.scale[1] + crop.center[1] - crop.scale[1] / 2;
    scores[k] = score;
  }
  return { points, scores };
}

/** First index of the largest value in data[start, start + length), and the value. */
function argmax(data: Float32Array, start: number, length: number): [number, number] {
  let best = 0;
  for (let i = 1; i < length; i++) if (data[start + i] > data[start + best]) best = i;
  return [best, data[start + best]];
}

/** COCO(-WholeBody) keypoints of one person as OpenPose's 18, in picture pixels. */
export function toOpenPose(points: Float64Array, scores: Float64Array): AnnotatedPerson {
  if (scores.length < 17) throw new AnnotatorError('model-output', `a pose model with ${scores.length} keypoints cannot make OpenPose's 18`);
  const keypoints = OPENPOSE_FROM_COCO.map((coco) => {
    if (coco === -1) {
      const visible = scores[5] > VISIBLE_SCORE && scores[6] > VISIBLE_SCORE;
      const x = (points[10] + points[12]) / 2;
      const y = (points[11] + points[13]) / 2;
      return { x, y, visible, score: visible ? 1 : 0 };
    }
    const score = scores[coco];
    return { x: points[coco * 2], y: points[coco * 2 + 1], visible: score > VISIBLE_SCORE, score };
  });
  const seen = keypoints.filter((k) => k.visible);
  return { keypoints, score: seen.length ? seen.reduce((a, k) => a + k.score, 0) / seen.length : 0 };
}

/** Every person DWPose finds, 18 OpenPose keypoints each, in picture pixels; `onPerson` reports progress. */
export async function annotateDwpose(
  detector: AnnotatorModel,
  pose: AnnotatorModel,
  picture: RgbImage,
  onPerson: (done: number, total: number) => void = () => {},
): Promise<AnnotatedPerson[]> {
  let boxes = await detectPeople(detector, picture);
  if (boxes.length === 0) boxes = [{ x1: 0, y1: 0, x2: picture.width, y2: picture.height, score: 0 }];
  const people: AnnotatedPerson[] = [];
  for (let i = 0; i < boxes.length; i++) {
    onPerson(i, boxes.length);
    const { points, scores } = await estimatePose(pose, picture, boxes[i]);
    const person = toOpenPose(points, scores);
    if (person.keypoints.some((k) => k.visible)) people.push(person);
  }
  return people;
}
