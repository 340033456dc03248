// The region weights of issue 16, written again from their definition in float64 for the independent checks
// (cli/regions-independent.test.ts), sharing no code with pipeline/region-masks.ts:
// - feathering: a Gaussian of standard deviation feather / 3 cut at radius max(1, ceil(feather)) pixels; at the
//   picture's edges the kernel is renormalised over the pixels inside. Written here as one 2D sum (the engine runs
//   two separable passes; for a product kernel over a rectangle the two are the same);
// - normalising: where the feathered regions sum to less than 1 the main prompt takes the rest, elsewhere the
//   regions are scaled to sum to 1 and the main prompt gets nothing;
// - resizing to an attention's h x w: area averaging as torch's adaptive average pooling, cell (i, j) the mean of
//   pixel rows floor(i H / h) .. ceil((i + 1) H / h) - 1 and the same for columns.

export interface PixelMask {
  width: number;
  height: number;
  data: Float64Array; // [H * W], row-major, in [0, 1]
}

export function featherReference(mask: PixelMask, feather: number): PixelMask {
  if (!(feather > 0)) return mask;
  const { width, height, data } = mask;
  const sigma = feather / 3;
  const radius = Math.max(1, Math.ceil(feather));
  const g = (d: number) => Math.exp(-(d * d) / (2 * sigma * sigma));
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let num = 0;
      let den = 0;
      for (let yy = Math.max(0, y - radius); yy <= Math.min(height - 1, y + radius); yy++) {
        for (let xx = Math.max(0, x - radius); xx <= Math.min(width - 1, x + radius); xx++) {
          const k = g(xx - x) * g(yy - y);
          num += k * data[yy * width + xx];
          den += k;
        }
      }
      out[y * width + x] = num / den;
    }
  }
  return { width, height, data: out };
}

/** [main, region 1, ...] weights at every pixel, summing to 1. */
export function normalisedWeightsReference(regions: readonly PixelMask[]): PixelMask[] {
  const { width, height } = regions[0];
  const main = new Float64Array(width * height);
  const parts = regions.map(() => new Float64Array(width * height));
  for (let p = 0; p < width * height; p++) {
    const total = regions.reduce((s, r) => s + r.data[p], 0);
    main[p] = total < 1 ? 1 - total : 0;
    regions.forEach((r, i) => (parts[i][p] = total < 1 ? r.data[p] : r.data[p] / total));
  }
  return [main, ...parts].map((data) => ({ width, height, data }));
}

export function areaPoolReference(mask: PixelMask, h: number, w: number): Float64Array {
  const { width: W, height: H, data } = mask;
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) {
    const [y0, y1] = [Math.floor((i * H) / h), Math.ceil(((i + 1) * H) / h)];
    for (let j = 0; j < w; j++) {
      const [x0, x1] = [Math.floor((j * W) / w), Math.ceil(((j + 1) * W) / w)];
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[y * W + x];
      out[i * w + j] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}
