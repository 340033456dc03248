import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureFile, golden, MODULE_TOLERANCE, relativeError } from '../goldens.test-support.ts';
import { decodeInTiles, featherWeights, type LatentTensor, TiledVaeDecoder, tileStarts } from './vae-tiled.ts';

test('tiles cover the axis, overlap as asked, and the last one ends at the border', () => {
  assert.deepEqual(tileStarts(32, 16, 8), [0, 8, 16]);
  assert.deepEqual(tileStarts(37, 16, 6), [0, 10, 20, 21]);
  assert.deepEqual(tileStarts(12, 16, 8), [0]);
  assert.deepEqual(tileStarts(128, 64, 16), [0, 48, 64]);
  assert.throws(() => tileStarts(32, 8, 8), /overlap 8 must be smaller than the tile 8/);
});

test('feather weights of neighbouring tiles sum to one across their overlap', () => {
  const starts = tileStarts(40, 16, 6); // [0, 10, 20, 24]
  const f = 8;
  const sum = new Float32Array(40 * f);
  for (let k = 0; k < starts.length; k++) {
    const w = featherWeights(starts, k, 16, f);
    for (let p = 0; p < w.length; p++) sum[starts[k] * f + p] += w[p];
  }
  // Where at most two tiles overlap, the linear ramps are complementary.
  for (let p = 0; p < 20 * f; p++) assert.ok(Math.abs(sum[p] - 1) < 1e-6, `weight sum ${sum[p]} at pixel ${p}`);
  assert.equal(featherWeights(starts, 0, 16, f)[0], 1); // image border: no fade
});

/**
 * A stand-in decoder whose output at each pixel depends only on the pixel's place in the whole image: the latent
 * carries its own global coordinates (channel 0 = row, 1 = column, 2 = batch item). Stitching must then reproduce
 * that image exactly, whatever the tiling.
 */
function positionalLatent(batch: number, h: number, w: number): LatentTensor {
  const data = new Float32Array(batch * 4 * h * w);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        data[((b * 4 + 0) * h + y) * w + x] = y;
        data[((b * 4 + 1) * h + y) * w + x] = x;
        data[((b * 4 + 2) * h + y) * w + x] = b;
      }
    }
  }
  return { shape: [batch, 4, h, w], data };
}

const pattern = (b: number, c: number, gy: number, gx: number) => Math.sin(0.05 * gy + c) * Math.cos(0.031 * gx) + b;

async function positionalDecoder(tile: LatentTensor): Promise<Float32Array> {
  const [, , th, tw] = tile.shape;
  const out = new Float32Array(3 * th * 8 * tw * 8);
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < th * 8; py++) {
      for (let px = 0; px < tw * 8; px++) {
        const at = (ch: number) => tile.data[(ch * th + (py >> 3)) * tw + (px >> 3)];
        out[(c * th * 8 + py) * tw * 8 + px] = pattern(at(2), c, at(0) * 8 + (py & 7), at(1) * 8 + (px & 7));
      }
    }
  }
  return out;
}

test('stitching puts every tile back in its place (odd sizes, batch of two)', async () => {
  const latent = positionalLatent(2, 37, 23);
  const image = await decodeInTiles(latent, { tile: 16, overlap: 6, factor: 8 }, positionalDecoder);
  assert.deepEqual(image.shape, [2, 3, 296, 184]);
  let worst = 0;
  for (let b = 0; b < 2; b++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 296; y++) {
        for (let x = 0; x < 184; x++) worst = Math.max(worst, Math.abs(image.data[((b * 3 + c) * 296 + y) * 184 + x] - pattern(b, c, y, x)));
      }
    }
  }
  assert.ok(worst < 1e-5, `stitched image differs from the whole by ${worst}`);
});

/**
 * Mean over channels and columns of |e[r] - e[r-1]|, the step between neighbouring rows (or, with `vertical`
 * false, columns) of the error field e = tiled - full. A seam is a jump in that field along a tile edge.
 */
function errorStep(tiled: ArrayLike<number>, full: ArrayLike<number>, size: number, r: number, vertical: boolean): number {
  let s = 0;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < size; i++) {
      const at = (k: number) => {
        const j = vertical ? (c * size + k) * size + i : (c * size + i) * size + k;
        return tiled[j] - full[j];
      };
      s += Math.abs(at(r) - at(r - 1));
    }
  }
  return s / (3 * size);
}

test('tiled decode of vae.z with 16x16 tiles stays close to the full decode, one session, no seams', async () => {
  const z = golden('vae.z'); // [1, 4, 32, 32]
  const full = golden('vae.decoded').data; // [1, 3, 256, 256]
  const decoder = new TiledVaeDecoder(fixtureFile('tiny-sd15.safetensors'), { tile: 16, overlap: 8, providers: ['cpu'] });
  try {
    const image = await decoder.decode({ shape: z.shape, data: z.data });
    assert.deepEqual(image.shape, [1, 3, 256, 256]);
    assert.equal(decoder.sessionCount, 1, 'all nine tiles share one decoder session');
    // Not exact: each tile normalises with its own GroupNorm statistics. Measured here: max-relative 0.19,
    // mean |error| 0.034 against a mean |pixel| of 0.22 (this random tiny model's level 0 has one channel per
    // group, so per-tile statistics wander more than in a real VAE). The bounds catch regressions in stitching.
    const rel = relativeError(image.data, full);
    let meanErr = 0;
    let meanRef = 0;
    for (let i = 0; i < full.length; i++) {
      meanErr += Math.abs(image.data[i] - full[i]);
      meanRef += Math.abs(full[i]);
    }
    console.log(`tiled 16/8 vs full decode: max-relative ${rel.toExponential(2)}, mean |error| / mean |pixel| ${(meanErr / meanRef).toExponential(2)}`);
    assert.ok(rel < 0.25, `tiled decode max-relative error ${rel}`);
    assert.ok(meanErr / meanRef < 0.2, `tiled decode mean error ratio ${meanErr / meanRef}`);
    // Seams: the error may vary across the image but must not jump from one row (column) to the next. With
    // feathering the largest step is 1.44x the median step (rows; 1.42x columns); butting tiles together
    // without overlap gives 3.8x at the cut (pixel 128).
    for (const vertical of [true, false]) {
      const steps: number[] = [];
      for (let r = 1; r < 256; r++) steps.push(errorStep(image.data, full, 256, r, vertical));
      const median = [...steps].sort((a, b) => a - b)[127];
      const worst = Math.max(...steps);
      const where = steps.indexOf(worst) + 1;
      assert.ok(worst < 2 * median, `seam at ${vertical ? 'row' : 'column'} ${where}: error step ${(worst / median).toFixed(2)}x the median`);
    }
  } finally {
    await decoder.release();
  }
});

test('a latent that fits in one tile decodes exactly as the full decoder', async () => {
  const z = golden('vae.z');
  const decoder = new TiledVaeDecoder(fixtureFile('tiny-sd15.safetensors'), { providers: ['cpu'] }); // 64x64 tiles
  try {
    const image = await decoder.decode({ shape: z.shape, data: z.data });
    const e = relativeError(image.data, golden('vae.decoded').data);
    assert.ok(e < MODULE_TOLERANCE, `single-tile decode error ${e}`);
  } finally {
    await decoder.release();
  }
});
