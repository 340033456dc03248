// OpenPose skeletons rendered the way ControlNet 1.1's annotator draws them (controlnet_aux / ControlNet-v1-1
// annotator/openpose/util.py draw_bodypose), so the openpose ControlNet sees exactly the input it was trained on:
// on black, the 17 limbs as filled ellipses (cv2.ellipse2Poly with stick width 4, cv2.fillConvexPoly), the
// whole canvas then scaled by 0.6, then the 18 keypoints as filled circles of radius 4 in full colour.
// The rasterisers below follow OpenCV's integer algorithms (8-connected outline, 16-bit fixed-point scanline
// fill, midpoint circle) so the pixels match cv2; pose.test.ts checks them against images cv2 drew.
// Pure module.
import type { PosePerson } from '../document/model.ts';
import { roundHalfEven, type RgbImage } from './images.ts';

export const KEYPOINT_NAMES = [
  'nose', 'neck', 'right shoulder', 'right elbow', 'right wrist', 'left shoulder', 'left elbow', 'left wrist',
  'right hip', 'right knee', 'right ankle', 'left hip', 'left knee', 'left ankle', 'right eye', 'left eye',
  'right ear', 'left ear',
] as const;

/** OpenPose's limb list (1-based keypoint pairs, as in util.py); draw_bodypose draws the first 17. */
export const LIMB_SEQUENCE: readonly (readonly [number, number])[] = [
  [2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14],
  [2, 1], [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18],
];

/** OpenPose's colours (RGB), one per keypoint and per limb. */
export const POSE_COLORS: readonly (readonly [number, number, number])[] = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
  [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
  [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
];

export const STICK_WIDTH = 4;
export const KEYPOINT_RADIUS = 4;
const DRAWN_LIMBS = 17;

// A standing figure, as fractions of the canvas: x, y per keypoint (the person's right is on the image left).
const STANDING: readonly (readonly [number, number])[] = [
  [0.5, 0.15], [0.5, 0.25], [0.42, 0.25], [0.39, 0.38], [0.37, 0.5], [0.58, 0.25], [0.61, 0.38], [0.63, 0.5],
  [0.45, 0.52], [0.45, 0.7], [0.45, 0.88], [0.55, 0.52], [0.55, 0.7], [0.55, 0.88], [0.48, 0.13], [0.52, 0.13],
  [0.46, 0.14], [0.54, 0.14],
];

/** A standing person filling the canvas height, centred at `cx` (fraction of the width). */
export function standingPerson(id: string, width: number, height: number, cx = 0.5): PosePerson {
  const scale = Math.min(height, width * 1.5);
  return {
    id,
    keypoints: STANDING.map(([x, y]) => ({
      x: Math.round(cx * width + (x - 0.5) * scale),
      y: Math.round(height / 2 + (y - 0.5) * scale),
      visible: true,
    })),
  };
}

/** Renders people to a black RGB image of the given size, as draw_bodypose does. */
export function renderPose(people: readonly PosePerson[], width: number, height: number): RgbImage {
  const image: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let limb = 0; limb < DRAWN_LIMBS; limb++) {
    for (const person of people) {
      const a = person.keypoints[LIMB_SEQUENCE[limb][0] - 1];
      const b = person.keypoints[LIMB_SEQUENCE[limb][1] - 1];
      if (!a?.visible || !b?.visible) continue;
      // util.py names the image x "Y" and y "X"; the arithmetic below is the same in plain names.
      const mx = (a.x + b.x) / 2;
      const my = (a.y + b.y) / 2;
      const length = Math.hypot(a.x - b.x, a.y - b.y);
      const angle = (Math.atan2(a.y - b.y, a.x - b.x) * 180) / Math.PI;
      const polygon = ellipsePolygon(Math.trunc(mx), Math.trunc(my), Math.trunc(length / 2), STICK_WIDTH, Math.trunc(angle));
      fillConvexPolygon(image, polygon, POSE_COLORS[limb]);
    }
  }
  for (let i = 0; i < image.data.length; i++) image.data[i] = Math.floor(image.data[i] * 0.6);
  for (let k = 0; k < 18; k++) {
    for (const person of people) {
      const p = person.keypoints[k];
      if (!p?.visible) continue;
      fillCircle(image, Math.trunc(p.x), Math.trunc(p.y), KEYPOINT_RADIUS, POSE_COLORS[k]);
    }
  }
  return image;
}

// ---- OpenCV's rasterisers --------------------------------------------------------------------------

/** OpenCV's SinTable: sin of whole degrees 0..450, printed to 7 decimals, as floats. */
const SIN_TABLE = Float64Array.from({ length: 451 }, (_, i) => Math.fround(Math.round(Math.sin((i * Math.PI) / 180) * 1e7) / 1e7));

type Point = [number, number];

/** cv2.ellipse2Poly(center, axes, angle, 0, 360, delta=1): the ellipse outline as integer points. */
export function ellipsePolygon(cx: number, cy: number, a: number, b: number, angleDeg: number): Point[] {
  let angle = angleDeg;
  while (angle < 0) angle += 360;
  while (angle > 360) angle -= 360;
  const cos = SIN_TABLE[450 - angle];
  const sin = SIN_TABLE[angle];
  const points: Point[] = [];
  for (let t = 0; t <= 360; t++) {
    const x = a * SIN_TABLE[450 - t];
    const y = b * SIN_TABLE[t];
    const p: Point = [roundHalfEven(cx + x * cos - y * sin), roundHalfEven(cy + x * sin + y * cos)];
    const last = points[points.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) points.push(p);
  }
  if (points.length === 1) return [[cx, cy], [cx, cy]];
  return points;
}

function setPixel(image: RgbImage, x: number, y: number, color: readonly number[]): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const o = (y * image.width + x) * 3;
  image.data[o] = color[0];
  image.data[o + 1] = color[1];
  image.data[o + 2] = color[2];
}

function hline(image: RgbImage, y: number, x0: number, x1: number, color: readonly number[]): void {
  if (y < 0 || y >= image.height) return;
  for (let x = Math.max(0, x0); x <= Math.min(image.width - 1, x1); x++) setPixel(image, x, y, color);
}

/** An 8-connected line from p to q, walked left to right (OpenCV's LineIterator); off-image pixels skipped. */
function line8(image: RgbImage, p: Point, q: Point, color: readonly number[]): void {
  let [x0, y0] = p;
  let [x1, y1] = q;
  if (x1 < x0) [x0, y0, x1, y1] = [x1, y1, x0, y0];
  const dx = x1 - x0;
  const dy = Math.abs(y1 - y0);
  const sy = y1 < y0 ? -1 : 1;
  const major = Math.max(dx, dy);
  const minor = Math.min(dx, dy);
  let err = major - 2 * minor;
  let x = x0;
  let y = y0;
  for (let i = 0; i <= major; i++) {
    setPixel(image, x, y, color);
    // Bresenham: one step along the major axis, and along the minor one when the error says so.
    const mask = err < 0;
    err += mask ? 2 * major - 2 * minor : -2 * minor;
    if (dx >= dy) {
      x++;
      if (mask) y += sy;
    } else {
      y += sy;
      if (mask) x++;
    }
  }
}

const XY_SHIFT = 16;
const XY_ONE = 1 << XY_SHIFT;
const shiftDown = (v: number): number => Math.floor(v / XY_ONE);

/** cv2.fillConvexPoly(img, pts, color) with LINE_8 and shift 0: outline, then scanlines between two edges. */
export function fillConvexPolygon(image: RgbImage, v: Point[], color: readonly number[]): void {
  const n = v.length;
  let imin = 0;
  let ymin = v[0][1];
  let ymax = v[0][1];
  let xmin = v[0][0];
  let xmax = v[0][0];
  let prev = v[n - 1];
  for (let i = 0; i < n; i++) {
    const p = v[i];
    if (p[1] < ymin) {
      ymin = p[1];
      imin = i;
    }
    ymax = Math.max(ymax, p[1]);
    xmax = Math.max(xmax, p[0]);
    xmin = Math.min(xmin, p[0]);
    line8(image, prev, p, color);
    prev = p;
  }
  if (n < 3 || xmax < 0 || ymax < 0 || xmin >= image.width || ymin >= image.height) return;
  ymax = Math.min(ymax, image.height - 1);
  const half = XY_ONE >> 1;
  const edge = [
    { idx: imin, di: 1, x: -XY_ONE, dx: 0, ye: ymin },
    { idx: imin, di: n - 1, x: -XY_ONE, dx: 0, ye: ymin },
  ];
  let edges = n;
  let y = ymin;
  do {
    for (const e of edge) {
      if (y < e.ye) continue;
      let idx0 = e.idx;
      let idx = (idx0 + e.di) % n;
      for (; edges-- > 0; ) {
        const ty = v[idx][1];
        if (ty > y) {
          const xs = v[idx0][0] * XY_ONE;
          const xe = v[idx][0] * XY_ONE;
          e.ye = ty;
          e.dx = Math.trunc(((xe - xs) * 2 + (ty - y)) / (2 * (ty - y)));
          e.x = xs;
          e.idx = idx;
          break;
        }
        idx0 = idx;
        idx = (idx + e.di) % n;
      }
    }
    if (edges < 0) break;
    if (y >= 0) {
      const [left, right] = edge[0].x > edge[1].x ? [edge[1], edge[0]] : [edge[0], edge[1]];
      const x1 = shiftDown(left.x + half);
      const x2 = shiftDown(right.x + half);
      if (x2 >= 0 && x1 < image.width) hline(image, y, x1, x2, color);
    }
    edge[0].x += edge[0].dx;
    edge[1].x += edge[1].dx;
  } while (++y <= ymax);
}

/** cv2.circle(img, center, r, color, thickness=-1) with LINE_8: OpenCV's midpoint circle, filled by rows. */
export function fillCircle(image: RgbImage, cx: number, cy: number, radius: number, color: readonly number[]): void {
  let err = 0;
  let dx = radius;
  let dy = 0;
  let plus = 1;
  let minus = (radius << 1) - 1;
  while (dx >= dy) {
    hline(image, cy - dy, cx - dx, cx + dx, color);
    hline(image, cy + dy, cx - dx, cx + dx, color);
    hline(image, cy - dx, cx - dy, cx + dy, color);
    hline(image, cy + dx, cx - dy, cx + dy, color);
    dy++;
    err += plus;
    plus += 2;
    const mask = err <= 0 ? 0 : -1;
    err -= minus & mask;
    dx += mask;
    minus -= mask & 2;
  }
}
