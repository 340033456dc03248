// The weights regional prompting mixes cross-attention with, computed from the painted masks at the generation's
// pixel size: each mask feathered by its edge softness, then all of them normalised so that main + regions sum to
// 1 at every pixel (the main prompt takes whatever no region covers; where regions overlap beyond 1 they share in
// proportion), then area-averaged to each attention resolution the graph asks for. Averaging keeps the sum at 1,
// and pooling from the pixel grid (not from another pooled level) serves any level size, also a hires pass's.

/** A single-channel picture, row-major, values in [0, 1]. */
export interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Feathering: a Gaussian blur whose standard deviation is a third of `feather` pixels (so the soft edge spans
 * about `feather` pixels on each side), cut at 3 sigma. Near the borders the kernel is renormalised over the
 * pixels inside, so a mask that covers the whole picture stays exactly 1 everywhere.
 */
export function featherPlane(plane: Plane, feather: number): Plane {
  if (!(feather > 0)) return plane;
  const sigma = feather / 3;
  const radius = Math.max(1, Math.ceil(feather));
  const kernel = Float64Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const { width, height } = plane;
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let num = 0;
        let den = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = horizontal ? x + k : x;
          const yy = horizontal ? y : y + k;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          const kw = kernel[k + radius];
          num += kw * src[yy * width + xx];
          den += kw;
        }
        out[y * width + x] = num / den;
      }
    }
    return out;
  };
  return { width, height, data: pass(pass(plane.data, true), false) };
}

/**
 * Normalised weights [R + 1] planes (index 0: the main prompt) from the feathered region planes: where the regions
 * cover less than 1 in all, the main prompt takes the rest; where they cover 1 or more, they are scaled to sum 1.
 */
export function normaliseWeights(regions: readonly Plane[]): Plane[] {
  const { width, height } = regions[0];
  const n = width * height;
  const main = new Float32Array(n);
  const out = regions.map(() => new Float32Array(n));
  for (let p = 0; p < n; p++) {
    let total = 0;
    for (const r of regions) total += r.data[p];
    if (total >= 1) {
      regions.forEach((r, i) => (out[i][p] = r.data[p] / total));
    } else {
      main[p] = 1 - total;
      regions.forEach((r, i) => (out[i][p] = r.data[p]));
    }
  }
  return [main, ...out].map((data) => ({ width, height, data }));
}

/**
 * Area averaging to h x w, as torch's `interpolate(mode='area')` (adaptive average pooling): output cell (i, j)
 * averages input rows floor(i H / h) .. ceil((i + 1) H / h) - 1 and the same for columns.
 */
export function areaAverage(plane: Plane, h: number, w: number): Float32Array {
  const { width: W, height: H, data } = plane;
  const out = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    const y0 = Math.floor((i * H) / h);
    const y1 = Math.ceil(((i + 1) * H) / h);
    for (let j = 0; j < w; j++) {
      const x0 = Math.floor((j * W) / w);
      const x1 = Math.ceil(((j + 1) * W) / w);
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[y * W + x];
      out[i * w + j] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Whether a mask has any weight at all (an empty region is skipped, and named). */
export function isEmptyPlane(plane: Plane): boolean {
  return !plane.data.some((v) => v > 0);
}
