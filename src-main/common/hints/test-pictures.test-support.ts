// Deterministic test pictures for the hint tests: shapes, gradients and noise, made with integer arithmetic
// only so that the picture handed to cv2 when the reference edge maps were made is the one the tests rebuild.
import type { RgbImage } from './images.ts';

/** xorshift32: a small PRNG whose sequence is fixed by its seed. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** 192x160: a left-right gradient, a disc, a ramp-filled rectangle, a triangle, thin lines, noise of ±noise. */
export function shapesPicture(noise = 10, width = 192, height = 160): RgbImage {
  const data = new Uint8Array(width * height * 3);
  const rand = xorshift(20240611);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 40 + ((x * 120) / width) | 0;
      let g = 60 + ((y * 80) / height) | 0;
      let b = 90;
      const ddx = x - 60;
      const ddy = y - 55;
      if (ddx * ddx + ddy * ddy <= 30 * 30) [r, g, b] = [220, 80, 40];
      if (x >= 100 && x < 170 && y >= 20 && y < 80) [r, g, b] = [30, 30 + ((x - 100) * 3) | 0, 200];
      // triangle with corners (30,150) (90,95) (150,150)
      if (y <= 150 && y >= 95 && Math.abs(x - 90) * 55 <= (y - 95) * 60) [r, g, b] = [250, 240, 120];
      if (y === 120 + ((x * 1) >> 3) && x > 150) [r, g, b] = [0, 0, 0];
      if (x === 180 && y < 100) [r, g, b] = [255, 255, 255];
      const n = (v: number) => Math.max(0, Math.min(255, v + ((rand() % (2 * noise + 1)) - noise)));
      const o = (y * width + x) * 3;
      data[o] = n(r);
      data[o + 1] = n(g);
      data[o + 2] = n(b);
    }
  }
  return { width, height, data };
}
