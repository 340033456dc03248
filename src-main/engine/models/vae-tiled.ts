// Tiled VAE decoding for images too large to decode at once: the mid-block attention is quadratic in the number
// of latent pixels and the full-resolution activations dominate memory. The latent is cut into overlapping
// tiles, each tile goes through one decoder session built for the tile size (so a 2048x2048 image and a
// 1024x1536 one reuse the same session), and the decoded tiles are blended with linear feathering across the
// overlaps. The result is close to, not equal to, a full decode: GroupNorm statistics are computed per tile.
// That is the same trade A1111-era tiled VAEs make; wide overlaps keep the difference invisible.

import type { TensorFile } from '../../formats/tensor-file.ts';
import type { DataType } from '../graph/dtype.ts';
import { GraphError } from '../graph/node.ts';
import { createFusedSession, type Fusions } from '../runtime/fusions.ts';
import type { ModelSession, ProviderName } from '../runtime/session.ts';
import { buildVaeDecoderGraph, detectVae, SD15_VAE_SCALE, type VaeConfig } from './vae.ts';

export interface LatentTensor {
  shape: readonly number[]; // [B, C, h, w]
  data: Float32Array;
}

export interface TileOptions {
  /** Tile edge in latent pixels (64 = a 512-pixel tile in SD1.5). */
  tile: number;
  /** Overlap between neighbouring tiles in latent pixels. */
  overlap: number;
}

export const DEFAULT_TILES: TileOptions = { tile: 64, overlap: 16 };

/** Start offsets of the tiles along one axis of `length` pixels; the last tile is aligned to the end. */
export function tileStarts(length: number, tile: number, overlap: number): number[] {
  if (!(tile > overlap && overlap >= 0)) throw new GraphError(`tiled VAE: overlap ${overlap} must be smaller than the tile ${tile}`);
  if (length <= tile) return [0];
  const starts: number[] = [];
  for (let s = 0; s + tile < length; s += tile - overlap) starts.push(s);
  starts.push(length - tile);
  return starts;
}

/**
 * Blend weight of each output pixel of tile `k` along one axis: 1 in the tile's own part, rising linearly across
 * the overlap with the previous tile and falling across the overlap with the next, so that two tiles' weights
 * sum to one inside their overlap. Edges on the image border keep weight 1.
 */
export function featherWeights(starts: readonly number[], k: number, tile: number, factor: number): Float32Array {
  const size = tile * factor;
  const lead = k > 0 ? (starts[k - 1] + tile - starts[k]) * factor : 0;
  const trail = k < starts.length - 1 ? (starts[k] + tile - starts[k + 1]) * factor : 0;
  const out = new Float32Array(size);
  for (let p = 0; p < size; p++) {
    let wgt = 1;
    if (lead > 0) wgt = Math.min(wgt, (p + 0.5) / lead);
    if (trail > 0) wgt = Math.min(wgt, (size - p - 0.5) / trail);
    out[p] = wgt;
  }
  return out;
}

/** Decodes one tile [1, C, th, tw] to its image [1, 3, th*f, tw*f]. */
export type TileDecoder = (tile: LatentTensor) => Promise<Float32Array>;

/**
 * Cuts `latent` into tiles, decodes each with `decodeTile` and stitches the images. `factor` is the decoder's
 * upscale (8 in SD). Pure apart from `decodeTile`, so the stitching is testable without a model.
 */
export async function decodeInTiles(latent: LatentTensor, opts: TileOptions & { factor: number }, decodeTile: TileDecoder): Promise<LatentTensor> {
  const [batch, channels, h, w] = latent.shape;
  const { factor } = opts;
  const th = Math.min(opts.tile, h);
  const tw = Math.min(opts.tile, w);
  const rows = tileStarts(h, th, Math.min(opts.overlap, th - 1));
  const cols = tileStarts(w, tw, Math.min(opts.overlap, tw - 1));
  const H = h * factor;
  const W = w * factor;
  const tileH = th * factor;
  const tileW = tw * factor;
  let out: Float32Array | null = null;
  let outChannels = 0;
  const weightSum = new Float32Array(H * W);
  const tile = new Float32Array(channels * th * tw);
  for (let b = 0; b < batch; b++) {
    weightSum.fill(0);
    for (let r = 0; r < rows.length; r++) {
      const wy = featherWeights(rows, r, th, factor);
      for (let c = 0; c < cols.length; c++) {
        const wx = featherWeights(cols, c, tw, factor);
        // Copy the latent window [1, C, th, tw] out of [B, C, h, w].
        for (let ch = 0; ch < channels; ch++) {
          for (let y = 0; y < th; y++) {
            const from = ((b * channels + ch) * h + rows[r] + y) * w + cols[c];
            tile.set(latent.data.subarray(from, from + tw), (ch * th + y) * tw);
          }
        }
        const image = await decodeTile({ shape: [1, channels, th, tw], data: tile }); // [1, 3, th*f, tw*f]
        if (!out) {
          outChannels = image.length / (tileH * tileW);
          if (!Number.isInteger(outChannels)) throw new GraphError(`tiled VAE: a ${th}x${tw} tile decoded to ${image.length} values`);
          out = new Float32Array(batch * outChannels * H * W);
        }
        const y0 = rows[r] * factor;
        const x0 = cols[c] * factor;
        for (let y = 0; y < tileH; y++) {
          const rowBase = (y0 + y) * W + x0;
          for (let x = 0; x < tileW; x++) weightSum[rowBase + x] += wy[y] * wx[x];
          for (let oc = 0; oc < outChannels; oc++) {
            const dst = (b * outChannels + oc) * H * W + rowBase;
            const src = (oc * tileH + y) * tileW;
            for (let x = 0; x < tileW; x++) out[dst + x] += image[src + x] * wy[y] * wx[x];
          }
        }
      }
    }
    for (let oc = 0; oc < outChannels; oc++) {
      const base = (b * outChannels + oc) * H * W;
      for (let i = 0; i < H * W; i++) out![base + i] /= weightSum[i];
    }
  }
  return { shape: [batch, outChannels, H, W], data: out ?? new Float32Array(0) };
}

export interface TiledVaeOptions extends Partial<TileOptions> {
  compute?: DataType;
  scalingFactor?: number;
  providers?: ProviderName[];
}

/**
 * A VAE decoder that decodes in tiles. Owns its decoder sessions (one per tile size, in practice one) until
 * release(). Latents are scaled, as samplers produce them; output images are in about [-1, 1].
 */
export class TiledVaeDecoder {
  readonly cfg: VaeConfig;
  readonly tiles: TileOptions;
  private readonly sessions = new Map<string, ModelSession>();

  constructor(
    readonly file: TensorFile,
    private readonly opts: TiledVaeOptions = {},
  ) {
    this.cfg = detectVae(file);
    this.tiles = { tile: opts.tile ?? DEFAULT_TILES.tile, overlap: opts.overlap ?? DEFAULT_TILES.overlap };
  }

  /** The session for tiles of th x tw latent pixels, built on first use. */
  private async session(th: number, tw: number): Promise<ModelSession> {
    const key = `${th}x${tw}`;
    let s = this.sessions.get(key);
    if (!s) {
      const build = (fusions: Fusions) => {
        const opts = { batch: 1, height: th, width: tw, compute: this.opts.compute, scalingFactor: this.opts.scalingFactor ?? SD15_VAE_SCALE, ...fusions };
        return { image: buildVaeDecoderGraph(this.file, opts).outputs.image };
      };
      s = await createFusedSession(build, `vae_decoder_tile_${key}`, { providers: this.opts.providers });
      this.sessions.set(key, s);
    }
    return s;
  }

  /** Number of decoder sessions held (tests check that tiles share one). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async decode(latent: LatentTensor): Promise<LatentTensor> {
    const [, channels] = latent.shape;
    if (latent.shape.length !== 4 || channels !== this.cfg.latentChannels) {
      throw new GraphError(`tiled VAE: expected a latent [B, ${this.cfg.latentChannels}, h, w], got [${latent.shape}]`);
    }
    return decodeInTiles(latent, { ...this.tiles, factor: this.cfg.downFactor }, async (tile) => {
      const session = await this.session(tile.shape[2], tile.shape[3]);
      const result = await session.run({ latent: { dtype: 'float32', shape: tile.shape, data: tile.data } });
      return result.image.data as Float32Array;
    });
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
