// Regional prompting inside the graph: at every cross-attention, the output at each position is the mask-weighted
// sum of cross-attention over each region's text, out(p) = sum_r w_r(p) * CrossAttn(x, context_r)(p), with the
// main prompt as region 0. The weights come in as graph inputs per attention resolution (computed outside, see
// pipeline/region-masks.ts: feathered, normalised to sum to 1, area-averaged to that size), so the graph holds no
// picture-specific constant and one session serves any masks of the same count and token lengths.
//
// A graph without regions never sees this module: its context stays the plain [B, T, D] input, and the graph is
// node for node the one built before regions existed.

import { type Graph, GraphError, type Node } from '../graph/node.ts';
import * as op from '../graph/ops.ts';
import type { DataType } from '../graph/dtype.ts';
import { attention, linear } from './layers.ts';
import type { Weights } from './weights.ts';

/** Name of the mask input for attentions at h x w: [R + 1, B, h, w], entry 0 the main prompt's weight. */
export const regionMaskInputName = (h: number, w: number) => `region_masks_${h}x${w}`;
export const REGION_MASK_PREFIX = 'region_masks_';
export const regionContextInputName = (i: number) => `region_context_${i}`;

/** The graph's side of regional prompting: the main context, one context per region, masks per resolution. */
export class RegionalContext {
  private constructor(
    readonly main: Node, // [B, T, D]
    readonly regions: readonly Node[], // each [B, T_r, D]
    /** Mask inputs by resolution, made when the first attention at that size asks; shared by every cast. */
    private readonly masks: Map<string, Node>,
    readonly dtype: DataType,
  ) {}

  /** Declares the inputs `region_context_<i>` [B, T_i, D]; mask inputs follow as attentions need them. */
  static declare(g: Graph, main: Node, regionTokens: readonly number[]): RegionalContext {
    if (regionTokens.length === 0) throw new GraphError('a regional context needs at least one region');
    const [b, , d] = main.shape;
    const regions = regionTokens.map((t, i) => g.input(regionContextInputName(i), 'float32', [b, t, d]));
    return new RegionalContext(main, regions, new Map(), main.dtype);
  }

  get count(): number {
    return this.regions.length;
  }

  cast(dtype: DataType): RegionalContext {
    return new RegionalContext(op.cast(this.main, dtype), this.regions.map((r) => op.cast(r, dtype)), this.masks, dtype);
  }

  /** Weights of main + regions at h x w, as [R + 1, B, h * w, 1] in this context's dtype. */
  masksAt(h: number, w: number): Node {
    const name = regionMaskInputName(h, w);
    let input = this.masks.get(name);
    if (!input) {
      input = this.main.graph.input(name, 'float32', [this.count + 1, this.main.shape[0], h, w]);
      this.masks.set(name, input);
    }
    return op.reshape(op.cast(input, this.dtype), [this.count + 1, this.main.shape[0], h * w, 1]);
  }
}

/** The text a cross-attention reads: one context for the whole picture, or a regional one. */
export type TextContext = Node | RegionalContext;

export function castContext(context: TextContext, dtype: DataType): TextContext {
  return context instanceof RegionalContext ? context.cast(dtype) : op.cast(context, dtype);
}

/**
 * Regional cross-attention of tokens x [B, h*w, C] at spatial size h x w. The query projection is shared; each
 * context gets its own keys, values and attention. The weighted sum is taken before `to_out`: to_out is affine
 * (LoRA deltas included) and the weights sum to 1 at every position, so sum_r w_r to_out(a_r) = to_out(sum_r w_r a_r)
 * exactly, for one projection instead of R + 1.
 */
export function regionalCrossAttention(w: Weights, x: Node, context: RegionalContext, heads: number, h: number, wid: number): Node {
  const [b, t] = x.shape;
  if (t !== h * wid) throw new GraphError(`regional attention: ${t} tokens are not ${h} x ${wid}`);
  const q = linear(w.sub('to_q'), x);
  const masks = context.masksAt(h, wid); // [R + 1, B, h*w, 1]
  let mixed: Node | null = null;
  [context.main, ...context.regions].forEach((ctx, r) => {
    // LoRAs tied to region r-1 act in full on the keys and values of its own text (region-lora.ts): with q and
    // to_out masked per position by the same rule as every other layer, a region covering the picture is its
    // LoRA applied globally, and no other branch reads that LoRA.
    const text = w.loras?.forText ? w.withLoras(w.loras.forText(r === 0 ? null : r - 1)) : w;
    const k = linear(text.sub('to_k'), ctx);
    const v = linear(text.sub('to_v'), ctx);
    const weight = op.reshape(op.slice(masks, 0, r, r + 1), [b, t, 1]);
    const part = op.mul(attention(q, k, v, heads), weight); // [B, h*w, inner]
    mixed = mixed ? op.add(mixed, part) : part;
  });
  return linear(w.sub('to_out').sub(0), mixed!);
}

/** The context input of a model graph: the plain `context` [B, T, D], plus region inputs when there are regions. */
export function declareTextContext(g: Graph, batch: number, tokens: number, dim: number, regionTokens: readonly number[] | undefined): TextContext {
  const main = g.input('context', 'float32', [batch, tokens, dim]);
  return regionTokens && regionTokens.length > 0 ? RegionalContext.declare(g, main, regionTokens) : main;
}
