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
    /** Per region: whether the negative (uncond) rows read its branch too (a region with LoRAs of its own). */
    private readonly negativeReads: readonly boolean[],
  ) {}

  /**
   * Declares the inputs `region_context_<i>` [B, T_i, D]; mask inputs follow as attentions need them.
   * `negativeReads[i]`: region i's branch is read by the negative rows too (pipeline/regions.ts gives a region with
   * LoRAs the negative through those LoRAs there); otherwise only the conditional rows compute it.
   */
  static declare(g: Graph, main: Node, regionTokens: readonly number[], negativeReads: readonly boolean[] = []): RegionalContext {
    if (regionTokens.length === 0) throw new GraphError('a regional context needs at least one region');
    const [b, , d] = main.shape;
    const regions = regionTokens.map((t, i) => g.input(regionContextInputName(i), 'float32', [b, t, d]));
    return new RegionalContext(main, regions, new Map(), main.dtype, regionTokens.map((_, i) => negativeReads[i] === true));
  }

  uncondReads(i: number): boolean {
    return this.negativeReads[i];
  }

  get count(): number {
    return this.regions.length;
  }

  cast(dtype: DataType): RegionalContext {
    return new RegionalContext(op.cast(this.main, dtype), this.regions.map((r) => op.cast(r, dtype)), this.masks, dtype, this.negativeReads);
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
 * The first batch row that reads the regions. Classifier-free guidance batches [uncond, cond] (pipeline/generate.ts;
 * [uncond x n, cond x n] as diffusers for n images), and the negative branch reads the negative prompt everywhere,
 * so only the conditional half mixes regions; a batch of one (no guidance) is all conditional.
 */
function firstConditionalRow(b: number): number {
  if (b === 1) return 0;
  if (b % 2 === 0) return b / 2;
  throw new GraphError(`regional attention: a batch of ${b} is neither one image nor [uncond, cond] halves`);
}

/**
 * Regional cross-attention of tokens x [B, h*w, C] at spatial size h x w. The query projection is shared; each
 * context gets its own keys, values and attention, on the conditional rows only: the unconditional rows take the
 * plain attention over the main (negative) context, which is what their masks (all main) would give, without
 * R extra attentions weighted by zero. A region with LoRAs of its own is the exception: its branch is computed and
 * weighted on every row. The weighted sum is taken before `to_out`: to_out is affine (LoRA deltas
 * included) and the weights sum to 1 at every position, so sum_r w_r to_out(a_r) = to_out(sum_r w_r a_r) exactly,
 * for one projection instead of R + 1.
 */
export function regionalCrossAttention(w: Weights, x: Node, context: RegionalContext, heads: number, h: number, wid: number): Node {
  const [b, t] = x.shape;
  if (t !== h * wid) throw new GraphError(`regional attention: ${t} tokens are not ${h} x ${wid}`);
  const from = firstConditionalRow(b);
  const condRows = (n: Node, axis = 0) => op.slice(n, axis, from, b);
  // LoRAs tied to region i act in full on the keys and values of its own text (region-lora.ts): with q and to_out
  // masked per position by the same rule as every other layer, a region covering the picture is its LoRA applied
  // globally, and no other branch reads that LoRA.
  const textWeights = (i: number | null) => (w.loras?.forText ? w.withLoras(w.loras.forText(i)) : w);
  const attend = (q: Node, ctx: Node, i: number | null) => {
    const text = textWeights(i);
    return attention(q, linear(text.sub('to_k'), ctx), linear(text.sub('to_v'), ctx), heads);
  };
  const q = linear(w.sub('to_q'), x);
  const masks = context.masksAt(h, wid); // [R + 1, B, h*w, 1]
  const condMasks = condRows(masks, 1); // [R + 1, Bc, h*w, 1]
  const weight = (r: number, of: Node) => op.reshape(op.slice(of, 0, r, r + 1), [of.shape[1], t, 1]);
  const main = attend(q, context.main, null); // [B, h*w, inner]: every row reads the main context
  const condQ = condRows(q);
  // The branches of regions that the negative rows read too (regions with LoRAs, whose negative row is the
  // negative through their LoRAs, see pipeline/regions.ts) are weighted on every row, with the main branch.
  const everyRow = context.regions.some((_, i) => context.uncondReads(i));
  let all: Node | null = everyRow ? op.mul(main, weight(0, masks)) : null; // [B, h*w, inner]
  let cond: Node | null = everyRow ? null : op.mul(condRows(main), weight(0, condMasks)); // [Bc, h*w, inner]
  context.regions.forEach((ctx, i) => {
    if (context.uncondReads(i)) all = op.add(all!, op.mul(attend(q, ctx, i), weight(i + 1, masks)));
    else {
      const part = op.mul(attend(condQ, condRows(ctx), i), weight(i + 1, condMasks));
      cond = cond ? op.add(cond, part) : part;
    }
  });
  const negativeRows = all ? op.slice(all, 0, 0, from) : op.slice(main, 0, 0, from);
  const condAll: Node = all ? (cond ? op.add(condRows(all), cond) : condRows(all)) : cond!;
  const rows = from === 0 ? condAll : op.concat([negativeRows, condAll], 0);
  return linear(w.sub('to_out').sub(0), rows);
}

/** The context input of a model graph: the plain `context` [B, T, D], plus region inputs when there are regions. */
export function declareTextContext(
  g: Graph,
  batch: number,
  tokens: number,
  dim: number,
  regionTokens: readonly number[] | undefined,
  regionNegativeReads?: readonly boolean[],
): TextContext {
  const main = g.input('context', 'float32', [batch, tokens, dim]);
  return regionTokens && regionTokens.length > 0 ? RegionalContext.declare(g, main, regionTokens, regionNegativeReads) : main;
}
