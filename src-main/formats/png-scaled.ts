// Decodes a PNG straight to the size a job needs. A picture only has to cover the generation (at most
// 2048x2048), but a dropped-in one may be 8192x8192 with 16-bit samples: decoded whole that is 512 MB of
// inflated rows plus the pixels, gigabytes with the copies after. Here the deflate stream is inflated a
// small piece at a time (node's streaming inflate, so this is async: its synchronous one only inflates
// whole), each scanline is unfiltered against the one above and averaged at once into an output that is an
// integer factor smaller (box filter), so memory is the file, two scanlines and the small output, whatever
// the picture's size or depth; 16-bit samples go to 8 bits on the way, with no full-size copy. The final
// exact resize (crop, fill) is the caller's, from this already small picture.
// Interlaced pictures and pictures with no room to shrink are decoded whole by decodePng.
import zlib from 'node:zlib';
import { COLOR_CHANNELS, decodePng, parseChunks, PngError, sample, unfilterRow, type DecodeOptions, type PngImage } from './png.ts';

export interface ScaledDecodeOptions extends DecodeOptions {
  /** The result must still cover this size: it is shrunk by the largest integer factor that keeps it so. */
  within: { width: number; height: number };
}

/** Compressed bytes written to the inflater at a time; its output comes in chunks of `chunkSize`. */
const PIECE = 16384;

/** A PNG decoded to 8-bit pixels, shrunk by an integer factor as far as `within` allows (never below it). */
export async function decodePngWithin(bytes: Uint8Array, options: ScaledDecodeOptions): Promise<PngImage> {
  const source = options.source ?? 'PNG';
  const { header, idat, palette, transparency } = parseChunks(bytes, source, true);
  const { width, height, depth, colorType, interlaced } = header!;
  if (width * height > (options.maxPixels ?? 8192 * 8192)) throw new PngError(source, `${width}x${height} is larger than allowed`);
  const factor = Math.max(1, Math.floor(Math.min(width / Math.max(1, options.within.width), height / Math.max(1, options.within.height))));
  if (factor === 1 || interlaced) {
    const { text: _, ...image } = decodePng(bytes, options);
    return image;
  }
  if (colorType === 3 && !palette) throw new PngError(source, 'palette image without PLTE chunk');

  const samples = COLOR_CHANNELS[colorType];
  const channels = (colorType === 3 ? (transparency ? 4 : 3) : samples) as 1 | 2 | 3 | 4;
  const stride = Math.ceil((width * samples * depth) / 8);
  const bpp = Math.max(1, (samples * depth) >> 3);
  const outW = Math.floor(width / factor);
  const outH = Math.floor(height / factor);
  // the last output column and row take the few source pixels an exact division leaves over
  const colOf = new Uint32Array(width).map((_, x) => Math.min(outW - 1, Math.floor(x / factor)));
  const colCount = new Uint32Array(outW);
  for (let x = 0; x < width; x++) colCount[colOf[x]]++;
  const rowOf = (y: number) => Math.min(outH - 1, Math.floor(y / factor));

  const out = new Uint8Array(outW * outH * channels);
  const sums = new Uint32Array(outW * channels);
  const pixel = new Uint8Array(4);
  let rowsInSum = 0;
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  const line = new Uint8Array(stride + 1);
  let filled = 0;
  let y = 0;

  const flush = (oy: number) => {
    const base = oy * outW * channels;
    for (let ox = 0; ox < outW; ox++) {
      const n = colCount[ox] * rowsInSum;
      for (let c = 0; c < channels; c++) out[base + ox * channels + c] = Math.round(sums[ox * channels + c] / n);
    }
    sums.fill(0);
    rowsInSum = 0;
  };
  const addRow = () => {
    if (!unfilterRow(line[0], line.subarray(1), cur, y > 0 ? prev : null, bpp)) throw new PngError(source, `unknown filter type ${line[0]} on row ${y}`);
    if (colorType !== 3 && depth >= 8) {
      // the common case, without a call per sample: 8-bit samples, or the high byte of 16-bit ones
      const step = depth >> 3;
      for (let x = 0, i = 0; x < width; x++) {
        const at = colOf[x] * channels;
        for (let c = 0; c < samples; c++, i += step) sums[at + c] += cur[i];
      }
    } else addSamples();
    rowsInSum++;
    [prev, cur] = [cur, prev];
    const oy = rowOf(y);
    y++;
    if (y === height || rowOf(y) !== oy) flush(oy);
  };
  const addSamples = () => {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < samples; c++) {
        const v = sample(cur, x * samples + c, depth);
        if (colorType === 3) {
          if (v * 3 + 2 >= palette!.length) throw new PngError(source, `palette index ${v} out of range`);
          pixel[0] = palette![v * 3];
          pixel[1] = palette![v * 3 + 1];
          pixel[2] = palette![v * 3 + 2];
          pixel[3] = v < (transparency?.length ?? 0) ? transparency![v] : 255;
        } else {
          pixel[c] = depth < 8 && colorType === 0 ? Math.round((v * 255) / ((1 << depth) - 1)) : v;
        }
      }
      const at = colOf[x] * channels;
      for (let c = 0; c < channels; c++) sums[at + c] += pixel[c];
    }
  };
  const take = (data: Buffer) => {
    let at = 0;
    while (at < data.length && y < height) {
      const n = Math.min(line.length - filled, data.length - at);
      line.set(data.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === line.length) {
        filled = 0;
        addRow();
      }
    }
    // anything after the last row is more than the header promised: a bomb, or a broken file
    if (at < data.length) throw new PngError(source, `image data holds more than the ${height} rows of its header`);
  };
  const inflater = zlib.createInflate({ chunkSize: 1 << 16 });
  let failure: Error | null = null;
  inflater.on('data', (data: Buffer) => {
    if (failure) return;
    try {
      take(data);
    } catch (err) {
      failure = err as Error;
      inflater.destroy();
    }
  });
  const ended = new Promise<void>((resolve, reject) => {
    inflater.on('end', resolve);
    inflater.on('close', resolve);
    inflater.on('error', reject);
  });
  try {
    for (const chunk of idat) {
      for (let i = 0; i < chunk.length && !failure; i += PIECE) {
        const piece = Buffer.from(chunk.buffer, chunk.byteOffset + i, Math.min(PIECE, chunk.length - i));
        if (!inflater.write(piece)) await new Promise((r) => inflater.once('drain', r));
      }
    }
    inflater.end();
    await ended;
  } catch (err) {
    throw new PngError(source, `image data: ${(err as Error).message}`);
  }
  if (failure) throw failure;
  if (y < height) throw new PngError(source, `image data ends after ${y} of ${height} rows`);
  return { width: outW, height: outH, channels, data: out };
}
