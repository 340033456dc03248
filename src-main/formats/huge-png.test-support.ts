// Tests' decompression bomb: a valid PNG of width x height 16-bit RGBA pixels (8192x8192: 512 MB of samples)
// that is only about half a megabyte on disk. Written with a streaming deflate, one row at a time, so making it
// costs the test no more memory than the file; cached in the system temp folder between runs.
import { createWriteStream, existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { createDeflate } from 'node:zlib';
import { pngChunk } from './png.ts';

/** The path of the cached PNG of `width` x `height` 16-bit RGBA mid-grey pixels, made on first use. */
export async function hugePng16(width = 8192, height = 8192): Promise<string> {
  const file = path.join(os.tmpdir(), `hintbrush-huge-${width}x${height}-rgba16.png`);
  if (existsSync(file)) return file;
  const temp = `${file}.${process.pid}.tmp`;
  const out = createWriteStream(temp);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16; // bit depth
  header[9] = 6; // RGBA
  out.write(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  out.write(pngChunk('IHDR', header));
  const row = Buffer.alloc(1 + width * 8, 0x80);
  row[0] = 0; // filter: none
  const deflate = createDeflate({ level: 9 });
  deflate.on('data', (d: Buffer) => {
    // one IDAT per piece the deflater hands over: a valid PNG may split its stream anywhere
    for (let i = 0; i < d.length; i += 1 << 16) out.write(pngChunk('IDAT', d.subarray(i, i + (1 << 16))));
  });
  const done = new Promise<void>((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  for (let y = 0; y < height; y++) {
    if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  out.end(pngChunk('IEND', new Uint8Array(0)));
  await finished(out);
  renameSync(temp, file);
  return file;
}
