// PNG reading and writing for generated images and their A1111-style metadata (node's zlib, nothing else).
// Writing: 8-bit grey, grey+alpha, RGB or RGBA, adaptive row filters, text as tEXt (Latin-1) or iTXt (UTF-8)
// as PIL does for A1111's "parameters". Reading: every colour type and bit depth of the PNG spec, Adam7
// interlacing, tEXt/zTXt/iTXt; every chunk's CRC is checked and sizes are bounded, since a dropped-in PNG
// is hostile input. 16-bit samples are reduced to their high byte; palettes are expanded to RGB(A).
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from './crc32.ts';

export class PngError extends Error {
  readonly kind = 'bad-png';
  constructor(source: string, problem: string) {
    super(`${source}: ${problem}`);
  }
}

/** 8-bit pixels, row-major, channels interleaved: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

export interface DecodedPng extends PngImage {
  /** tEXt, zTXt and iTXt chunks by keyword (the first of each keyword). */
  text: Record<string, string>;
}

export interface DecodeOptions {
  /** Named in error messages (a file path, "clipboard"...). */
  source?: string;
  /** Refuse images with more pixels than this (default 8192 x 8192). */
  maxPixels?: number;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
const MAX_TEXT_BYTES = 8 << 20;
export const COLOR_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ALLOWED_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** One PNG chunk: length, type, data and the CRC over type and data. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const isLatin1 = (s: string): boolean => /^[\u0000-\u00ff]*$/.test(s);

/** tEXt when keyword and text are Latin-1, else an uncompressed iTXt with UTF-8 text (PIL's add_text rule). */
function textChunk(keyword: string, text: string): Buffer {
  if (!/^[\u0020-\u007e\u00a1-\u00ff]{1,79}$/.test(keyword) || keyword.startsWith(' ') || keyword.endsWith(' ')) {
    throw new PngError('png encoder', `text keyword ${JSON.stringify(keyword)} is not a valid PNG keyword`);
  }
  const key = Buffer.from(keyword, 'latin1');
  if (isLatin1(text)) return pngChunk('tEXt', Buffer.concat([key, Buffer.of(0), Buffer.from(text, 'latin1')]));
  // keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, text
  return pngChunk('iTXt', Buffer.concat([key, Buffer.of(0, 0, 0, 0, 0), Buffer.from(text, 'utf8')]));
}

/** Encodes 8-bit pixels as a PNG with optional text chunks (written before the image data). */
export function encodePng(image: PngImage, text: Record<string, string> = {}): Buffer {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) {
    throw new PngError('png encoder', `bad size ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels) || data.length !== width * height * channels) {
    throw new PngError('png encoder', `expected ${width}x${height}x${channels} bytes, got ${data.length}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels];
  // compression 0, filter 0, interlace 0
  const filtered = filterImage(data, width, height, channels);
  return Buffer.concat([
    SIGNATURE,
    pngChunk('IHDR', ihdr),
    ...Object.entries(text).map(([k, v]) => textChunk(k, v)),
    pngChunk('IDAT', deflateSync(filtered, { level: 6 })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

function inflateBounded(data: Uint8Array, limit: number, source: string, what: string): Buffer {
  try {
    return inflateSync(data, { maxOutputLength: limit });
  } catch (err) {
    throw new PngError(source, `${what}: ${(err as Error).message}`);
  }
}

export interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

/** Reads the text chunks only (cheap: the image data is not inflated). */
export function readPngText(bytes: Uint8Array, options: DecodeOptions = {}): Record<string, string> {
  return parseChunks(bytes, options.source ?? 'PNG', false).text;
}

/** What a PNG is without decoding its pixels: size, sample depth, colour type. */
export interface PngInfo {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

/**
 * Checks a whole PNG's structure (signature, every chunk's CRC, the header, IDAT and IEND present, the pixel
 * limit) and answers its size without inflating a pixel: memory is the file itself, however large the picture
 * (an 8192x8192 16-bit picture decodes to 512 MB). What it cannot see is a broken deflate stream inside IDAT
 * chunks whose CRCs match, which only a decode finds.
 */
export function readPngInfo(bytes: Uint8Array, options: DecodeOptions = {}): PngInfo {
  const source = options.source ?? 'PNG';
  const { width, height, depth, colorType, interlaced } = parseChunks(bytes, source, true).header!;
  if (width * height > (options.maxPixels ?? 8192 * 8192)) throw new PngError(source, `${width}x${height} is larger than allowed`);
  return { width, height, depth, colorType, interlaced };
}

export function decodePng(bytes: Uint8Array, options: DecodeOptions = {}): DecodedPng {
  const source = options.source ?? 'PNG';
  const maxPixels = options.maxPixels ?? 8192 * 8192;
  const { header, idat, palette, transparency, text } = parseChunks(bytes, source, true);
  const { width, height, depth, colorType, interlaced } = header!;
  if (width * height > maxPixels) throw new PngError(source, `${width}x${height} is larger than allowed`);
  const samples = COLOR_CHANNELS[colorType];
  const rowBytes = (w: number): number => Math.ceil((w * samples * depth) / 8);
  const passes = interlaced ? adam7Passes(width, height) : [{ w: width, h: height, x0: 0, y0: 0, dx: 1, dy: 1 }];
  const expected = passes.reduce((n, p) => (p.w && p.h ? n + p.h * (rowBytes(p.w) + 1) : n), 0);
  const raw = inflateBounded(Buffer.concat(idat), expected + 1, source, 'image data');
  if (raw.length < expected) throw new PngError(source, `image data holds ${raw.length} bytes, expected ${expected}`);

  if (colorType === 3 && !palette) throw new PngError(source, 'palette image without PLTE chunk');
  const outChannels = (colorType === 3 ? (transparency ? 4 : 3) : samples) as 1 | 2 | 3 | 4;
  const out = new Uint8Array(width * height * outChannels);
  let offset = 0;
  for (const pass of passes) {
    if (pass.w === 0 || pass.h === 0) continue;
    const stride = rowBytes(pass.w);
    const bpp = Math.max(1, (samples * depth) >> 3);
    const rows = unfilterImage(raw.subarray(offset, offset + pass.h * (stride + 1)), stride, pass.h, bpp, (problem) => {
      throw new PngError(source, problem);
    });
    offset += pass.h * (stride + 1);
    for (let y = 0; y < pass.h; y++) {
      const row = rows.subarray(y * stride, (y + 1) * stride);
      for (let x = 0; x < pass.w; x++) {
        const dst = ((pass.y0 + y * pass.dy) * width + pass.x0 + x * pass.dx) * outChannels;
        for (let c = 0; c < samples; c++) {
          const v = sample(row, x * samples + c, depth);
          if (colorType === 3) {
            if (v * 3 + 2 >= palette!.length) throw new PngError(source, `palette index ${v} out of range`);
            out.set(palette!.subarray(v * 3, v * 3 + 3), dst);
            if (outChannels === 4) out[dst + 3] = v < transparency!.length ? transparency![v] : 255;
          } else {
            out[dst + c] = depth < 8 && colorType === 0 ? Math.round((v * 255) / ((1 << depth) - 1)) : v;
          }
        }
      }
    }
  }
  return { width, height, channels: outChannels, data: out, text };
}

/** Sample `index` of a row: sub-byte samples unpacked (MSB first), 16-bit reduced to the high byte. */
export function sample(row: Uint8Array, index: number, depth: number): number {
  if (depth === 8) return row[index];
  if (depth === 16) return row[index * 2];
  const perByte = 8 / depth;
  const byte = row[Math.floor(index / perByte)];
  const shift = 8 - depth * ((index % perByte) + 1);
  return (byte >> shift) & ((1 << depth) - 1);
}

function adam7Passes(width: number, height: number) {
  const starts = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  return starts.map(([x0, y0, dx, dy]) => ({
    x0, y0, dx, dy,
    w: Math.max(0, Math.ceil((width - x0) / dx)),
    h: Math.max(0, Math.ceil((height - y0) / dy)),
  }));
}

export interface Parsed {
  header: Header | null;
  idat: Uint8Array[];
  palette: Uint8Array | null;
  transparency: Uint8Array | null;
  text: Record<string, string>;
}

export function parseChunks(bytes: Uint8Array, source: string, needImage: boolean): Parsed {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new PngError(source, 'not a PNG (bad signature)');
  const parsed: Parsed = { header: null, idat: [], palette: null, transparency: null, text: {} };
  let pos = 8;
  let ended = false;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw new PngError(source, `truncated chunk at byte ${pos}`);
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    if (length > 0x7fffffff || pos + 12 + length > buf.length) throw new PngError(source, `chunk ${type} runs past the end`);
    const data = buf.subarray(pos + 8, pos + 8 + length);
    if (crc32(buf.subarray(pos + 4, pos + 8 + length)) !== buf.readUInt32BE(pos + 8 + length)) {
      throw new PngError(source, `CRC mismatch in chunk ${JSON.stringify(type)} at byte ${pos}`);
    }
    pos += 12 + length;
    if (type === 'IHDR') parsed.header = readHeader(data, source);
    else if (!parsed.header) throw new PngError(source, `chunk ${type} before IHDR`);
    else if (type === 'IDAT') parsed.idat.push(data);
    else if (type === 'PLTE') parsed.palette = data;
    else if (type === 'tRNS' && parsed.header.colorType === 3) parsed.transparency = data;
    else if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') readText(type, data, parsed.text, source);
    else if (type === 'IEND') {
      ended = true;
      break;
    } else if ((type.charCodeAt(0) & 0x20) === 0) throw new PngError(source, `unknown critical chunk ${type}`);
  }
  if (!parsed.header) throw new PngError(source, 'no IHDR chunk');
  if (needImage && (!ended || parsed.idat.length === 0)) throw new PngError(source, 'truncated: no IDAT or IEND');
  return parsed;
}

function readHeader(data: Uint8Array, source: string): Header {
  if (data.length !== 13) throw new PngError(source, 'IHDR must be 13 bytes');
  const view = Buffer.from(data.buffer, data.byteOffset, 13);
  const header = {
    width: view.readUInt32BE(0),
    height: view.readUInt32BE(4),
    depth: view[8],
    colorType: view[9],
    interlaced: view[12] === 1,
  };
  if (header.width === 0 || header.height === 0) throw new PngError(source, 'zero width or height');
  if (!ALLOWED_DEPTHS[header.colorType]?.includes(header.depth)) {
    throw new PngError(source, `unsupported colour type ${header.colorType} with bit depth ${header.depth}`);
  }
  if (view[10] !== 0 || view[11] !== 0 || view[12] > 1) throw new PngError(source, 'unknown compression, filter or interlace method');
  return header;
}

function readText(type: string, data: Uint8Array, into: Record<string, string>, source: string): void {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const nul = buf.indexOf(0);
  if (nul < 1 || nul > 79) throw new PngError(source, `${type} chunk with a bad keyword`);
  const keyword = buf.toString('latin1', 0, nul);
  let value: string;
  if (type === 'tEXt') {
    value = buf.toString('latin1', nul + 1);
  } else if (type === 'zTXt') {
    if (buf[nul + 1] !== 0) throw new PngError(source, `zTXt ${keyword}: unknown compression method`);
    value = inflateBounded(buf.subarray(nul + 2), MAX_TEXT_BYTES, source, `zTXt ${keyword}`).toString('latin1');
  } else {
    const compressed = buf[nul + 1] === 1;
    const langEnd = buf.indexOf(0, nul + 3);
    const transEnd = langEnd < 0 ? -1 : buf.indexOf(0, langEnd + 1);
    if (transEnd < 0) throw new PngError(source, `iTXt ${keyword}: truncated`);
    const body = buf.subarray(transEnd + 1);
    value = (compressed ? inflateBounded(body, MAX_TEXT_BYTES, source, `iTXt ${keyword}`) : body).toString('utf8');
  }
  if (!(keyword in into)) into[keyword] = value;
}

// ---- scanline filters (None, Sub, Up, Average, Paeth) ----------------------------------------------------
// Undone when reading; chosen per row when writing by the minimum-sum-of-absolute-differences heuristic
// (what libpng does by default).

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
function unfilterImage(
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
    if (!unfilterRow(filter, line, cur, prev, bpp)) fail(`unknown filter type ${filter} on row ${y}`);
  }
  return out;
}

/** Undoes one scanline's filter into `cur` (`prev`: the row above, unfiltered; null for the first). False for an unknown filter. */
export function unfilterRow(filter: number, line: Uint8Array, cur: Uint8Array, prev: Uint8Array | null, bpp: number): boolean {
  if (filter > 4) return false;
  if (filter === 0) {
    cur.set(line.subarray(0, cur.length));
    return true;
  }
  const stride = cur.length;
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
      default:
        v = line[i] + paeth(a, b, c);
    }
    cur[i] = v & 0xff;
  }
  return true;
}

/** Filters 8-bit pixel rows for writing, picking for each row the filter with the smallest residuals. */
function filterImage(data: Uint8Array, width: number, height: number, channels: number): Buffer {
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
