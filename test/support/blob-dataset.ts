// A tiny training set for end-to-end tests of the training wizard: pairs of a target picture (one or two
// coloured blobs on a pale background, drawn here) and its condition (the blobs' edges, white on black, as a
// Canny hint looks), written with the project's PNG encoder as name.png + name.cond.png + name.txt, plus a
// few bad files the import must report and leave out. Deterministic: the same seed writes the same bytes.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodePng } from '../../src-main/formats/png.ts';
import { uniformRandom } from '../../src-main/engine/training/trainable-lora.ts';

export interface BlobDatasetOptions {
  /** Pairs to write (default 32). */
  count?: number;
  /** Side of each square picture in pixels (default 128, the smallest training reads). */
  size?: number;
  seed?: number;
  /** Also write pairs the import must leave out: broken, unpaired, too small, not PNG, of another shape. */
  withProblems?: boolean;
}

export interface BlobDataset {
  dir: string;
  pairs: string[];
  /** File names the import should report, with the kind of problem expected. */
  problems: { file: string; kind: string }[];
}

interface Blob {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  colour: [number, number, number];
  name: string;
}

const COLOURS: { name: string; rgb: [number, number, number] }[] = [
  { name: 'red', rgb: [214, 64, 72] },
  { name: 'teal', rgb: [38, 160, 150] },
  { name: 'orange', rgb: [236, 140, 40] },
  { name: 'violet', rgb: [128, 82, 196] },
  { name: 'blue', rgb: [52, 110, 220] },
];

function blobsFor(rand: () => number, size: number): Blob[] {
  const n = rand() < 0.35 ? 2 : 1;
  return Array.from({ length: n }, () => {
    const c = COLOURS[Math.floor(rand() * COLOURS.length)];
    const rx = size * (0.14 + rand() * 0.16);
    const ry = size * (0.14 + rand() * 0.16);
    return { cx: rx + rand() * (size - 2 * rx), cy: ry + rand() * (size - 2 * ry), rx, ry, colour: c.rgb, name: c.name };
  });
}

/** Which blob covers each pixel (-1: background), the blobs drawn in order. */
function coverage(blobs: Blob[], size: number): Int8Array {
  const owner = new Int8Array(size * size).fill(-1);
  blobs.forEach((b, k) => {
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const dx = (x + 0.5 - b.cx) / b.rx;
        const dy = (y + 0.5 - b.cy) / b.ry;
        if (dx * dx + dy * dy <= 1) owner[y * size + x] = k;
      }
  });
  return owner;
}

/** The target: blobs shaded lighter towards their top-left, on a warm pale background. */
function target(blobs: Blob[], owner: Int8Array, size: number): Uint8Array {
  const rgb = new Uint8Array(size * size * 3); // [H, W, 3]
  for (let i = 0; i < size * size; i++) {
    const k = owner[i];
    let c: [number, number, number] = [238, 234, 224];
    if (k >= 0) {
      const b = blobs[k];
      const x = i % size;
      const y = Math.floor(i / size);
      const light = 1.15 - 0.3 * (((x - b.cx) / b.rx + (y - b.cy) / b.ry + 2) / 4);
      c = b.colour.map((v) => Math.min(255, Math.round(v * light))) as [number, number, number];
    }
    rgb.set(c, i * 3);
  }
  return rgb;
}

/** The condition: one-pixel edges where the covering blob changes, white on black. */
function edges(owner: Int8Array, size: number): Uint8Array {
  const grey = new Uint8Array(size * size); // [H, W]
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const k = owner[y * size + x];
      const right = x + 1 < size ? owner[y * size + x + 1] : k;
      const below = y + 1 < size ? owner[(y + 1) * size + x] : k;
      if (k !== right || k !== below) grey[y * size + x] = 255;
    }
  return grey;
}

/** Writes the dataset into `dir` (created when missing). */
export async function writeBlobDataset(dir: string, options: BlobDatasetOptions = {}): Promise<BlobDataset> {
  const { count = 32, size = 128, seed = 7, withProblems = true } = options;
  const rand = uniformRandom(seed);
  await mkdir(dir, { recursive: true });
  const pairs: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `blob-${String(i).padStart(2, '0')}`;
    const blobs = blobsFor(rand, size);
    const owner = coverage(blobs, size);
    const words = blobs.map((b) => `a ${b.name} blob`).join(' and ');
    await writeFile(path.join(dir, `${name}.png`), encodePng({ width: size, height: size, channels: 3, data: target(blobs, owner, size) }));
    await writeFile(path.join(dir, `${name}.cond.png`), encodePng({ width: size, height: size, channels: 1, data: edges(owner, size) }));
    await writeFile(path.join(dir, `${name}.txt`), `${words} on a pale background`);
    pairs.push(name);
  }
  const problems: { file: string; kind: string }[] = [];
  if (withProblems) {
    const grey = (w: number, h: number) => encodePng({ width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3).fill(200) });
    const put = (name: string, bytes: Uint8Array) => writeFile(path.join(dir, name), bytes);
    const png = grey(size, size);
    await put('broken.png', png.subarray(0, Math.floor(png.length / 2))); // cut in the middle of its data
    await put('broken.cond.png', png);
    problems.push({ file: 'broken.png', kind: 'unreadable' });
    await put('lonely.png', png);
    problems.push({ file: 'lonely.png', kind: 'unpaired' });
    await put('small.png', grey(32, 32));
    await put('small.cond.png', grey(32, 32));
    problems.push({ file: 'small.png', kind: 'too-small' });
    await put('scan.webp', Buffer.from('RIFF\0\0\0\0WEBPVP8 '));
    await put('scan.cond.webp', Buffer.from('RIFF\0\0\0\0WEBPVP8 '));
    problems.push({ file: 'scan.webp', kind: 'unsupported' });
    await put('wide.png', png);
    await put('wide.cond.png', grey(size * 2, size));
    problems.push({ file: 'wide.cond.png', kind: 'size-mismatch' });
  }
  return { dir, pairs, problems };
}
