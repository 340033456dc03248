// LoRAs tied to a region: the artist writes `<lora:name:weight>` in a region's prompt, and that LoRA acts only
// where the region is, inside the same UNet pass. Every layer the LoRA touches adds its delta multiplied by the
// region's feathered mask m_r (0..1, NOT normalised: two overlapping regions both get their LoRA in full there),
// area-averaged to the layer's spatial size:
//   - token-wise linear layers over [B, h*w, C] (proj_in/out, attention projections on the picture's tokens,
//     feed-forward): y(p) = W x(p) + sum_global d(x)(p) + sum_r m_r(p) d_r(x)(p), per position p;
//   - convs: the same per output pixel (the mask at the conv's output size, so a stride-2 conv reads it there);
//   - the ResBlocks' time-embedding projection (emb_layers.1, kohya's time_emb_proj) has no position: its output
//     [B, C] is broadcast over the feature map, so a region's delta is masked where it joins the map, h + m_r d_r;
//   - the timestep embedding MLP (time_embed.*, diffusers' time_embedding) feeds every ResBlock through a SiLU,
//     so no mask can place it; a region LoRA's modules there are left out (regions.ts says so in the run's notes).
// Regional cross-attention (regional-attention.ts), out(p) = to_out(sum_s w_s(p) Attn(q(p), K_s, V_s)) over the
// branches s (main prompt and each region, w normalised), is handled by the same rule plus one for the text:
//   - to_q is a token-wise layer: one q per position with the masked deltas of every region, shared by all
//     branches (one projection, not one per branch);
//   - the keys and values of branch s are read from s's text, which has no position: they get the LoRAs of the
//     text's owner in full (forText(s)), computed over its T_s tokens only, and no other region's (a position-
//     dependent key set would cost h*w key projections);
//   - to_out acts after the mix, with its masked delta: sum_s w_s (W a_s + b + m D a_s) = W a + b + m D a for
//     a = sum_s w_s a_s because the w_s sum to 1, so one projection serves every branch exactly.
// With m_r = 1 everywhere this is exactly the LoRA applied to the whole picture (w_r = 1 there): q, K_r, V_r and
// to_out all carry its full delta. In the uncond row of the CFG batch, region r's branch reads the negative
// encoded through r's LoRAs (regions.ts), as a whole-picture run with that LoRA would.

import { type Graph, GraphError, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import type { DataType } from '../graph/dtype.ts';
import type { LoraSet } from './lora.ts';
import type { LayerAdapter } from './weights.ts';

export const REGION_LORA_MASK_PREFIX = 'region_lora_masks_';
/** Name of the mask input of region LoRAs at h x w: [R, B, h, w], the feathered masks area-averaged (not normalised). */
export const regionLoraMaskInputName = (h: number, w: number) => `${REGION_LORA_MASK_PREFIX}${h}x${w}`;
/** Strength input of the i-th LoRA of region r. */
export const regionLoraStrengthName = (r: number, i: number) => `region_lora_${r}_${i}`;

/** The spatial sizes of a UNet's levels for a latent of h x w: each downsampling halves, rounding up. */
export function levelSizes(h: number, w: number): [number, number][] {
  const sizes: [number, number][] = [[h, w]];
  while (h > 1 || w > 1) {
    h = Math.ceil(h / 2);
    w = Math.ceil(w / 2);
    sizes.push([h, w]);
  }
  return sizes;
}

/** The region-LoRA mask inputs of one graph, declared as layers of each size ask for them. */
class RegionLoraMasks {
  private readonly inputs = new Map<string, Node>();
  constructor(
    private readonly g: Graph,
    private readonly regions: number,
    private readonly batch: number,
    private readonly compute: DataType,
    private readonly levels: readonly [number, number][],
  ) {}

  /** Region r's mask at h x w as [B, 1, h, w]. */
  pixels(r: number, h: number, w: number): Node {
    const name = regionLoraMaskInputName(h, w);
    let input = this.inputs.get(name);
    if (!input) {
      input = this.g.input(name, 'float32', [this.regions, this.batch, h, w]);
      this.inputs.set(name, input);
    }
    return op.reshape(op.cast(op.slice(input, 0, r, r + 1), this.compute), [this.batch, 1, h, w]);
  }

  /** Region r's mask for `tokens` picture tokens in row-major order, as [B, tokens, 1]. */
  tokens(r: number, tokens: number, path: string): Node {
    const size = this.levels.find(([h, w]) => h * w === tokens);
    if (!size) throw new GraphError(`${path}: a region LoRA cannot place ${tokens} tokens on the picture (levels ${this.levels.map(([h, w]) => `${h}x${w}`).join(', ')})`);
    return op.reshape(this.pixels(r, size[0], size[1]), [this.batch, tokens, 1]);
  }
}

/**
 * The LoRAs of one UNet graph when some are tied to regions: `global` acts everywhere, `regions[r]` (null for a
 * region without LoRAs) where region r's mask is. Owned by the graph it is built into.
 */
export class RegionalLoraSet implements LayerAdapter {
  private readonly masks: RegionLoraMasks;

  constructor(
    g: Graph,
    compute: DataType,
    private readonly global: LoraSet | null,
    private readonly regions: readonly (LoraSet | null)[],
    shape: { batch: number; height: number; width: number },
  ) {
    this.masks = new RegionLoraMasks(g, regions.length, shape.batch, compute, levelSizes(shape.height, shape.width));
  }

  applyLinear(path: string, x: Node, y: Node): Node {
    if (this.global) y = this.global.applyLinear(path, x, y);
    if (x.rank !== 3) return y; // no position: emb_layers join the map in joinAtPositions; time_embed is left out
    this.regions.forEach((set, r) => {
      const delta = set?.deltaLinear(path, x); // [B, h*w, out]
      if (delta) y = op.add(y, op.mul(delta, this.masks.tokens(r, x.shape[1], path)));
    });
    return y;
  }

  applyConv(path: string, x: Node, y: Node, opts: op.ConvOptions): Node {
    if (this.global) y = this.global.applyConv(path, x, y, opts);
    this.regions.forEach((set, r) => {
      const delta = set?.deltaConv(path, x, opts); // [B, Cout, H', W']
      if (delta) y = op.add(y, op.mul(delta, this.masks.pixels(r, delta.shape[2], delta.shape[3])));
    });
    return y;
  }

  /** h [B, C, H, W] plus each region's delta of the position-free linear layer at `path` on x [B, Cin], masked. */
  joinAtPositions(path: string, x: Node, h: Node): Node {
    this.regions.forEach((set, r) => {
      const delta = set?.deltaLinear(path, x); // [B, C]
      if (delta) h = op.add(h, op.mul(op.reshape(delta, [delta.shape[0], delta.shape[1], 1, 1]), this.masks.pixels(r, h.shape[2], h.shape[3])));
    });
    return h;
  }

  /**
   * The adapter for keys and values read from a text context: the global LoRAs, plus region r's in full when the
   * text is region r's (null: the main prompt's or the negative's text, which no region owns).
   */
  forText(r: number | null): LayerAdapter {
    const own = r === null ? null : this.regions[r];
    const global = this.global;
    return {
      applyLinear: (path, x, y) => {
        if (global) y = global.applyLinear(path, x, y);
        return own ? own.applyLinear(path, x, y) : y;
      },
      applyConv: (path, x, y, opts) => {
        if (global) y = global.applyConv(path, x, y, opts);
        return own ? own.applyConv(path, x, y, opts) : y;
      },
    };
  }
}
