// OpenPose's greedy limb assembly, as body.py writes it: each limb type scores every pair of candidate
// joints by the part-affinity field sampled at 10 points between them (plus a prior against limbs longer
// than half the picture), keeps the best pairs without reusing a joint, then grows people limb by limb,
// merging two partial people that a limb joins and do not overlap. People with fewer than 4 joints or an
// average score under 0.4 are dropped. Joint and limb numbering is OpenPose's (1-based in the tables).

import type { AnnotatedPerson } from '../../common/contract.ts';
import type { FloatImage } from './image.ts';

export interface Peak {
  x: number;
  y: number;
  score: number;
  /** Index among every peak of every part. */
  id: number;
}

/** Joint pairs (1-based) of the 19 limbs, and the PAF channels (offset by 19) of each. */
export const LIMB_SEQ = [
  [2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14], [2, 1],
  [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18],
];
export const MAP_IDX = [
  [31, 32], [39, 40], [33, 34], [35, 36], [41, 42], [43, 44], [19, 20], [21, 22], [23, 24], [25, 26], [27, 28],
  [29, 30], [47, 48], [49, 50], [53, 54], [51, 52], [55, 56], [37, 38], [45, 46],
];

const MID_NUM = 10;
const PAF_THRESHOLD = 0.05;

/** Python's round(): halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface Connection {
  a: number; // peak id
  b: number;
  score: number;
}

function connectLimb(k: number, candA: Peak[], candB: Peak[], paf: FloatImage, height: number): Connection[] {
  const [cx, cy] = MAP_IDX[k].map((m) => m - 19);
  const { width: W, channels: C } = paf;
  const candidates: { i: number; j: number; score: number }[] = [];
  for (let i = 0; i < candA.length; i++) {
    for (let j = 0; j < candB.length; j++) {
      const vx = candB[j].x - candA[i].x;
      const vy = candB[j].y - candA[i].y;
      const norm = Math.max(0.001, Math.sqrt(vx * vx + vy * vy));
      let sum = 0;
      let above = 0;
      for (let t = 0; t < MID_NUM; t++) {
        const f = t / (MID_NUM - 1);
        const px = Math.min(W - 1, roundHalfEven(candA[i].x + f * vx));
        const py = Math.min(paf.height - 1, roundHalfEven(candA[i].y + f * vy));
        const at = (py * W + px) * C;
        const s = (paf.data[at + cx] * vx) / norm + (paf.data[at + cy] * vy) / norm;
        sum += s;
        if (s > PAF_THRESHOLD) above++;
      }
      const withPrior = sum / MID_NUM + Math.min((0.5 * height) / norm - 1, 0);
      if (above > 0.8 * MID_NUM && withPrior > 0) candidates.push({ i, j, score: withPrior });
    }
  }
  candidates.sort((p, q) => q.score - p.score);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const out: Connection[] = [];
  for (const c of candidates) {
    if (usedA.has(c.i) || usedB.has(c.j)) continue;
    usedA.add(c.i);
    usedB.add(c.j);
    out.push({ a: candA[c.i].id, b: candB[c.j].id, score: c.score });
    if (out.length >= Math.min(candA.length, candB.length)) break;
  }
  return out;
}

/** People from the peaks of each part and the picture-sized PAFs [H, W, 38]; keypoints in PAF pixels. */
export function assemblePeople(peaks: Peak[][], paf: FloatImage, height: number): AnnotatedPerson[] {
  const candidate = peaks.flat().sort((p, q) => p.id - q.id);
  // A row per person: joint -> peak id (-1 none), then the total score and the joint count.
  let subset: number[][] = [];
  for (let k = 0; k < MAP_IDX.length; k++) {
    const [indexA, indexB] = LIMB_SEQ[k].map((j) => j - 1);
    const candA = peaks[indexA];
    const candB = peaks[indexB];
    if (candA.length === 0 || candB.length === 0) continue;
    for (const conn of connectLimb(k, candA, candB, paf, height)) {
      const found: number[] = [];
      for (let j = 0; j < subset.length && found.length < 2; j++) {
        if (subset[j][indexA] === conn.a || subset[j][indexB] === conn.b) found.push(j);
      }
      if (found.length === 1) {
        const row = subset[found[0]];
        if (row[indexB] !== conn.b) {
          row[indexB] = conn.b;
          row[19] += 1;
          row[18] += candidate[conn.b].score + conn.score;
        }
      } else if (found.length === 2) {
        const [r1, r2] = [subset[found[0]], subset[found[1]]];
        const overlap = r1.slice(0, 18).some((v, i) => v >= 0 && r2[i] >= 0);
        if (!overlap) {
          for (let i = 0; i < 18; i++) r1[i] += r2[i] + 1;
          r1[18] += r2[18] + conn.score;
          r1[19] += r2[19];
          subset = subset.filter((_, i) => i !== found[1]);
        } else {
          r1[indexB] = conn.b;
          r1[19] += 1;
          r1[18] += candidate[conn.b].score + conn.score;
        }
      } else if (k < 17) {
        const row = new Array<number>(20).fill(-1);
        row[indexA] = conn.a;
        row[indexB] = conn.b;
        row[19] = 2;
        row[18] = candidate[conn.a].score + candidate[conn.b].score + conn.score;
        subset.push(row);
      }
    }
  }
  return subset
    .filter((row) => !(row[19] < 4 || row[18] / row[19] < 0.4))
    .map((row) => ({
      score: row[18] / row[19],
      keypoints: row.slice(0, 18).map((id) => {
        const peak = id >= 0 ? candidate[id] : undefined;
        return peak ? { x: peak.x, y: peak.y, visible: true, score: peak.score } : { x: 0, y: 0, visible: false, score: 0 };
      }),
    }));
}
