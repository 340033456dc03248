// Hires fix's pixel upscale (lanczosResize, Pillow's LANCZOS) against the Lanczos-3 formula written out in
// floating point: each output pixel the normalised sum of sinc(x) sinc(x / 3) weights over the inputs within
// 3 pixels of its centre (widened by the scale when shrinking), rows first, rounded to 8 bits between the passes
// as Pillow does. Pillow's 22-bit fixed-point weights may move a value by one level, never more.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lanczosResize, type Image8 } from './image-resize.ts';

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
const lanczos3 = (x: number) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0);

/** Weights of every input index for output o along one axis. */
function weights(inSize: number, outSize: number, o: number): number[] {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const center = (o + 0.5) * scale;
  const w = Array.from({ length: inSize }, (_, j) => (Math.abs(j + 0.5 - center) < 3 * stretch ? lanczos3((j + 0.5 - center) / stretch) : 0));
  const total = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / total);
}

function directLanczos(src: Image8, width: number, height: number): Float64Array {
  const rows = new Float64Array(src.height * width * 3);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < width; x++) {
      const w = weights(src.width, width, x);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < src.width; j++) sum += w[j] * src.data[(y * src.width + j) * 3 + c];
        rows[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(sum))); // Pillow keeps 8 bits between passes
      }
    }
  }
  const out = new Float64Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const w = weights(src.height, height, y);
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < src.height; j++) sum += w[j] * rows[(j * width + x) * 3 + c];
        out[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, sum));
      }
    }
  }
  return out;
}

test('lanczosResize equals the Lanczos-3 formula within one level, up (x2, x1.5) and down', () => {
  const src: Image8 = { width: 23, height: 17, channels: 3, data: Uint8Array.from({ length: 23 * 17 * 3 }, (_, i) => (i * 53 + Math.floor(i / 11) * 29) % 256) };
  for (const [W, H] of [[46, 34], [35, 26], [11, 9]]) {
    const got = lanczosResize(src, W, H);
    const want = directLanczos(src, W, H);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - want[i]));
    assert.ok(worst <= 1, `${W}x${H}: off by ${worst}`);
  }
});
