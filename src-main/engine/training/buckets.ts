// Aspect-ratio buckets as kohya's sd-scripts makes them (library/model_util.make_bucket_resolutions): every
// (width, height) with sides multiples of 64 between a minimum and a maximum side whose area is at most
// resolution², plus the square; each image goes to the bucket whose aspect ratio is closest to its own, and is
// resized to cover the bucket and centre-cropped (A1111's crop-and-resize). Pure module: main assigns buckets
// at import, the engine uses the same function at the chosen resolution.

export interface Bucket {
  width: number;
  height: number;
}

export const BUCKET_STEP = 64;
/** Smaller than this on its shorter side, a picture is refused as too small to teach anything at 256 px. */
export const MIN_IMAGE_SIDE = 128;

/** kohya's min_bucket_reso / max_bucket_reso for a resolution: half of it (at least 64) to twice it. */
export function bucketLimits(resolution: number): { min: number; max: number } {
  return { min: Math.max(BUCKET_STEP, Math.floor(resolution / 2 / BUCKET_STEP) * BUCKET_STEP), max: resolution * 2 };
}

/** Every bucket of a resolution, sorted by width then height. */
export function bucketResolutions(resolution: number): Bucket[] {
  const { min, max } = bucketLimits(resolution);
  const area = resolution * resolution;
  const seen = new Map<string, Bucket>();
  const add = (width: number, height: number) => seen.set(`${width}x${height}`, { width, height });
  const square = Math.floor(Math.sqrt(area) / BUCKET_STEP) * BUCKET_STEP;
  add(square, square);
  for (let width = min; width <= max; width += BUCKET_STEP) {
    const height = Math.min(max, Math.floor(Math.floor(area / width) / BUCKET_STEP) * BUCKET_STEP);
    if (height >= min) {
      add(width, height);
      add(height, width);
    }
  }
  return [...seen.values()].sort((a, b) => a.width - b.width || a.height - b.height);
}

/** The bucket whose aspect ratio is closest to width / height (ties: the larger area, then the first). */
export function assignBucket(width: number, height: number, buckets: readonly Bucket[]): Bucket {
  const ratio = width / height;
  let best = buckets[0];
  let bestError = Infinity;
  for (const b of buckets) {
    const error = Math.abs(b.width / b.height - ratio);
    if (error < bestError - 1e-12 || (Math.abs(error - bestError) <= 1e-12 && b.width * b.height > best.width * best.height)) {
      best = b;
      bestError = error;
    }
  }
  return best;
}

/** Counts per bucket, in bucket order. */
export function bucketCounts(assigned: readonly Bucket[]): { width: number; height: number; count: number }[] {
  const counts = new Map<string, { width: number; height: number; count: number }>();
  for (const b of assigned) {
    const key = `${b.width}x${b.height}`;
    const c = counts.get(key) ?? { width: b.width, height: b.height, count: 0 };
    c.count++;
    counts.set(key, c);
  }
  return [...counts.values()].sort((a, b) => a.width - b.width || a.height - b.height);
}
