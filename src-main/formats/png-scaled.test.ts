// The shrinking decoder against the whole decoder: for every colour type and depth its output is the whole
// picture box-averaged by the same factor, and the 8192x8192 16-bit picture decodes to what a generation needs
// without the process growing by more than a few megabytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { deflateSync } from 'node:zlib';
import { hugePng16 } from './huge-png.test-support.ts';
import { decodePng, encodePng, pngChunk, type PngImage } from './png.ts';
import { decodePngWithin } from './png-scaled.ts';

/** A PNG of any depth and colour type from raw scanlines (filter 'none'), with optional PLTE and tRNS. */
function rawPng(width: number, height: number, depth: number, colorType: number, rowBytes: number, seed: number, extra: Buffer[] = []): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = depth;
  header[9] = colorType;
  let s = seed;
  const rows = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) for (let i = 0; i < rowBytes; i++) rows[y * (rowBytes + 1) + 1 + i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', header), ...extra, pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', new Uint8Array(0))]);
}

/** The reference: the whole picture, box-averaged as decodePngWithin maps pixels (last row and column take the rest). */
function shrink(img: PngImage, factor: number): PngImage {
  const outW = Math.floor(img.width / factor);
  const outH = Math.floor(img.height / factor);
  const ch = img.channels;
  const sums = new Float64Array(outW * outH * ch);
  const counts = new Float64Array(outW * outH);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = Math.min(outH - 1, Math.floor(y / factor)) * outW + Math.min(outW - 1, Math.floor(x / factor));
      counts[o]++;
      for (let c = 0; c < ch; c++) sums[o * ch + c] += img.data[(y * img.width + x) * ch + c];
    }
  }
  return { width: outW, height: outH, channels: ch, data: Uint8Array.from(sums, (v, i) => Math.round(v / counts[Math.floor(i / ch)])) };
}

it('matches the whole decode box-averaged, for every colour type and depth', async () => {
  const palette = pngChunk('PLTE', Uint8Array.from({ length: 48 }, (_, i) => (i * 37) % 256));
  const trns = pngChunk('tRNS', Uint8Array.of(0, 128, 255, 7));
  const random = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % 251);
  const cases: Array<[string, Buffer]> = [
    ['RGB 8, adaptive filters', encodePng({ width: 37, height: 23, channels: 3, data: random(37 * 23 * 3, 1) })],
    ['RGBA 8, adaptive filters', encodePng({ width: 37, height: 23, channels: 4, data: random(37 * 23 * 4, 2) })],
    ['grey + alpha 8', encodePng({ width: 37, height: 23, channels: 2, data: random(37 * 23 * 2, 3) })],
    ['grey 2-bit', rawPng(37, 23, 2, 0, Math.ceil((37 * 2) / 8), 4)],
    ['palette 4-bit with tRNS', rawPng(37, 23, 4, 3, Math.ceil((37 * 4) / 8), 5, [palette, trns])],
    ['RGBA 16', rawPng(37, 23, 16, 6, 37 * 8, 6)],
    ['grey 16', rawPng(37, 23, 16, 0, 37 * 2, 7)],
  ];
  for (const [name, png] of cases) {
    // palette indices above 15 would be out of range: the 4-bit case only draws 0..15
    const whole = decodePng(png);
    const scaled = await decodePngWithin(png, { within: { width: 8, height: 5 } });
    assert.deepEqual([scaled.width, scaled.height, scaled.channels], [9, 5, whole.channels], name);
    assert.deepEqual(scaled.data, shrink(whole, 4).data, name);
  }
});

it('a picture with no room to shrink, or an interlaced one, is decoded whole', async () => {
  const png = encodePng({ width: 20, height: 10, channels: 3, data: new Uint8Array(600).fill(9) });
  assert.deepEqual(await decodePngWithin(png, { within: { width: 16, height: 16 } }), { width: 20, height: 10, channels: 3, data: new Uint8Array(600).fill(9) });
});

it('broken image data is refused with the reason', async () => {
  const png = encodePng({ width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3).fill(200) });
  const idat = png.indexOf('IDAT') - 4;
  const length = png.readUInt32BE(idat);
  // IDAT cut in half (its CRC made right again): the rows end early
  const half = Math.floor(length / 2);
  const cut = Buffer.concat([png.subarray(0, idat), pngChunk('IDAT', png.subarray(idat + 8, idat + 8 + half)), png.subarray(idat + 12 + length)]);
  await assert.rejects(decodePngWithin(cut, { within: { width: 8, height: 8 } }), /image data/);
});

it('the 8192x8192 16-bit RGBA picture shrinks to a 64x64 job without a full-size buffer', async () => {
  const bytes = readFileSync(await hugePng16());
  const before = process.resourceUsage().maxRSS;
  const started = Date.now();
  const img = await decodePngWithin(bytes, { within: { width: 64, height: 64 }, source: 'huge.png' });
  const grownMb = (process.resourceUsage().maxRSS - before) / 1024;
  assert.deepEqual([img.width, img.height, img.channels], [64, 64, 4]);
  assert.ok(img.data.every((v) => v === 128));
  assert.ok(grownMb < 100, `the decode grew the process by ${grownMb.toFixed(0)} MB (took ${Date.now() - started} ms)`);
});
