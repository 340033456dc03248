// PNG scanline filters (None, Sub, Up, Average, Paeth): undone when reading, chosen per row when writing by
// the usual minimum-sum-of-absolute-differences heuristic (what libpng does by default).

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Undoes the filters of `rows` scanlines of `stride` bytes (each preceded by its filter byte); `bpp` is the
 * bytes per complete pixel (at least 1); `fail` reports a bad filter byte. Returns the unfiltered rows without filter bytes.
 */
export function unfilterImage(
  raw: Uint8Array,
  stride: number,
  rows: number,
  bpp: number,
  fail: (problem: string) => never,
): Uint8Array {
  const out = new Uint8Array(stride * rows);
  for (let y = 0; y < rows; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = out.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? out.subarray((y - 1) * stride, y * stride) : null;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev ? prev[i] : 0;
      const c = prev && i >= bpp ? prev[i - bpp] : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = line[i];
          break;
        case 1:
          v = line[i] + a;
          break;
        case 2:
          v = line[i] + b;
          break;
        case 3:
          v = line[i] + ((a + b) >> 1);
          break;
        case 4:
          v = line[i] + paeth(a, b, c);
          break;
        default:
          fail(`unknown filter type ${filter} on row ${y}`);
      }
      cur[i] = v & 0xff;
    }
  }
  return out;
}

/** Filters 8-bit pixel rows for writing, picking for each row the filter with the smallest residuals. */
export function filterImage(data: Uint8Array, width: number, height: number, channels: number): Buffer {
  const stride = width * channels;
  const out = Buffer.alloc(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const cur = data.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? data.subarray((y - 1) * stride, y * stride) : null;
    let bestFilter = 0;
    let bestScore = Infinity;
    const target = out.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let filter = 0; filter <= 4; filter++) {
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? cur[i - channels] : 0;
        const b = prev ? prev[i] : 0;
        const c = prev && i >= channels ? prev[i - channels] : 0;
        const predictor = filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
        const v = (cur[i] - predictor) & 0xff;
        candidate[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        bestFilter = filter;
        target.set(candidate);
      }
    }
    out[y * (stride + 1)] = bestFilter;
  }
  return out;
}
