// The training data as the step graph reads it, computed once and cached on disk: each picture resized to cover
// its bucket and centre-cropped, VAE-encoded as it is and mirrored (the flip augmentation: x0 of a flipped
// picture is the latent of the flipped picture, not a flipped latent); a pair's condition image cropped the same
// way and encoded as CtrLoRA reads it (RGB in [0, 1], posterior mean x 0.18215), mirrored with its target; each
// caption's text embedding (CLIP last layer, one 77-token chunk, as kohya trains without long captions).
//
// Cache: one safetensors file per checkpoint (path, size, mtime) and compute precision in `cacheDir`, written
// atomically after each batch of new entries. Entry names hash what they depend on (the file's path, size and
// mtime, the bucket; the caption text), so an edited caption or a new bucket size computes only what changed.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { decodePngWithin } from '../../formats/png-scaled.ts';
import { resizeImage, toRgb, type Image8 } from '../../generation/image-resize.ts';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../formats/safetensors.ts';
import type { ModelRuntime } from '../pipeline/model-runtime.ts';
import type { Bucket } from './buckets.ts';

export interface DataItem {
  id: number;
  /** Absolute path of the target picture (PNG). */
  image: string;
  /** Absolute path of the condition picture (PNG), or null. */
  condition: string | null;
  caption: string;
  bucket: Bucket;
}

export interface CachedItem {
  bucket: Bucket;
  latent: Float32Array; // [4, h, w]
  latentFlip: Float32Array;
  cond: Float32Array | null; // [4, h, w] condition latent (ctrlora)
  condFlip: Float32Array | null;
  /** [77, D] text embedding; null when the text encoder trains (then `ids`). */
  context: Float32Array | null;
  ids: Int32Array; // [77]
}

export class DataError extends Error {
  readonly kind = 'bad-dataset';
}

const sha = (text: string) => createHash('sha1').update(text).digest('hex').slice(0, 20);

function fileKey(file: string): string {
  const st = fs.statSync(file);
  return `${path.resolve(file)}|${st.size}|${Math.round(st.mtimeMs)}`;
}

export function mirror(img: Image8): Image8 {
  const { width: w, height: h, channels: c } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * c;
      const to = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[to + k] = img.data[from + k];
    }
  }
  return { ...img, data: out };
}

/** HWC 8-bit RGB -> [1, 3, H, W] float, v / 255 * scale + offset. */
export function toTensor(img: Image8, scale: number, offset: number): { shape: number[]; data: Float32Array } {
  const { width: w, height: h } = img;
  const data = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) data[c * w * h + i] = (img.data[i * 3 + c] / 255) * scale + offset;
  return { shape: [1, 3, h, w], data };
}

/**
 * The picture fitted to its bucket (cover + centre crop), as generation fits hints. A picture at least twice
 * the bucket is shrunk while it is decoded (decodePngWithin), so an 8192x8192 16-bit picture in a dataset never
 * exists at full size in the engine's memory.
 */
export async function fitted(file: string, bucket: Bucket): Promise<Image8> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw new DataError(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let picture: Image8;
  try {
    picture = toRgb(await decodePngWithin(bytes, { source: file, within: bucket }));
  } catch (err) {
    throw new DataError(`${file}: not a readable PNG (${(err as Error).message})`);
  }
  return resizeImage(picture, 'crop-and-resize', bucket.width, bucket.height);
}

export interface PrepareOptions {
  cacheDir: string;
  checkpoint: string;
  /** The text encoder trains: only token ids are needed. */
  textEncoder: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Computes (or reads from the cache) everything each item feeds the step graph. */
export async function prepareData(runtime: ModelRuntime, items: readonly DataItem[], opts: PrepareOptions): Promise<CachedItem[]> {
  fs.mkdirSync(opts.cacheDir, { recursive: true });
  const cacheFile = path.join(opts.cacheDir, `cache-${sha(`${fileKey(opts.checkpoint)}|${runtime.compute}`)}.safetensors`);
  const cached = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  if (fs.existsSync(cacheFile)) {
    try {
      const f = openSafetensors(cacheFile);
      for (const [key, entry] of f.tensors) cached.set(key, { shape: entry.shape, data: f.readFloat32(key) });
      f.close();
    } catch {
      cached.clear(); // a damaged cache is recomputed, never trusted
    }
  }
  let dirty = 0;
  const save = () => {
    const tensors: TensorToWrite[] = [...cached].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, data: t.data }));
    writeSafetensors(cacheFile, tensors, { hintbrush_cache: 'training latents and text embeddings' });
    dirty = 0;
  };
  const tokenizer = getClipTokenizer();
  const encodeImage = async (key: string, img: () => Promise<Image8>, scale: number, offset: number): Promise<Float32Array> => {
    const hit = cached.get(key);
    if (hit) return hit.data;
    const t = await runtime.vaeEncode(opts.checkpoint, toTensor(await img(), scale, offset)); // [1, 4, h, w]
    cached.set(key, { shape: t.shape.slice(1), data: t.data });
    dirty++;
    return t.data;
  };
  const out: CachedItem[] = [];
  for (const [i, item] of items.entries()) {
    opts.signal?.throwIfAborted();
    const b = `${item.bucket.width}x${item.bucket.height}`;
    const imgKey = sha(`${fileKey(item.image)}|${b}`);
    let target: Promise<Image8> | null = null;
    const getTarget = () => (target ??= fitted(item.image, item.bucket));
    const latent = await encodeImage(`latent.${imgKey}`, getTarget, 2, -1);
    const latentFlip = await encodeImage(`latent_flip.${imgKey}`, async () => mirror(await getTarget()), 2, -1);
    let cond: Float32Array | null = null;
    let condFlip: Float32Array | null = null;
    if (item.condition) {
      const condKey = sha(`${fileKey(item.condition)}|${b}`);
      let image: Promise<Image8> | null = null;
      const getCond = () => (image ??= fitted(item.condition!, item.bucket));
      cond = await encodeImage(`cond.${condKey}`, getCond, 1, 0);
      condFlip = await encodeImage(`cond_flip.${condKey}`, async () => mirror(await getCond()), 1, 0);
    }
    const ids = tokenizer.tokenize(item.caption);
    let context: Float32Array | null = null;
    if (!opts.textEncoder) {
      const key = `text.${sha(item.caption)}`;
      const hit = cached.get(key);
      if (hit) context = hit.data;
      else {
        const t = await runtime.encodeText(opts.checkpoint, ids, 1, 1, []); // [1, 77, D]
        cached.set(key, { shape: t.shape.slice(1), data: t.data });
        context = t.data;
        dirty++;
      }
    }
    out.push({ bucket: item.bucket, latent, latentFlip, cond, condFlip, context, ids });
    if (dirty >= 16) save();
    opts.onProgress?.(i + 1, items.length);
  }
  if (dirty > 0) save();
  return out;
}
