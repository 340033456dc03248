// Regional prompting for one generation: each region's prompt encoded with the same A1111 rules as the main
// prompt, and the per-resolution weights the graphs' regional cross-attention mixes with (region-masks.ts).
// The CFG batch is [uncond, cond]: the uncond row gives the main (negative) context all the weight everywhere,
// so the negative branch is exactly the negative prompt's. The graphs compute regional attention on the cond row
// only (models/regional-attention.ts), so the uncond row's region contexts (zeros) and weights are never read.
//
// Ownership: a RegionConditioning is made per generation and read by every UNet/ControlNet evaluation of it,
// whatever their latent size (a hires pass asks for other level sizes and gets them pooled from the same pixels).

import { padChunkLists, tokenizeWeightedPrompt } from '../../generation/prompt-syntax.ts';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { REGION_MASK_PREFIX, regionContextInputName } from '../models/regional-attention.ts';
import type { TensorData } from '../runtime/session.ts';
import { encodeChunks, type ConditioningOptions } from './conditioning.ts';
import { GenerateError } from './generate-errors.ts';
import type { ModelRuntime, Tensor32 } from './model-runtime.ts';
import { areaAverage, featherPlane, isEmptyPlane, normaliseWeights, type Plane } from './region-masks.ts';

import { MAX_REGIONS } from '../../common/regions-contract.ts';

export { MAX_REGIONS };

export interface RegionRequest {
  /** [1, 1, H, W] at the generation size, in [0, 1]: 1 = the region, between = partial weight. */
  mask: Tensor32;
  prompt: string;
  /** Edge softness in pixels (0: hard edge). */
  feather: number;
  /** Append the main prompt to the region's (Krita's switch): the region's text becomes "region, main". */
  appendMain: boolean;
}

/** The text a region is encoded from. */
export function regionText(region: Pick<RegionRequest, 'prompt' | 'appendMain'>, mainPrompt: string): string {
  return region.appendMain && mainPrompt.trim() ? `${region.prompt}, ${mainPrompt}` : region.prompt;
}

/** What the runtime feeds a graph with regions; `key` tells sessions of different region layouts apart. */
export class RegionConditioning {
  private readonly pooled = new Map<string, Float32Array>();

  private constructor(
    /** Per region [B, T_r, D]: row 0 zeros (uncond), row 1 the region's text. */
    readonly contexts: readonly Tensor32[],
    /** Normalised pixel weights, [0] the main prompt's. */
    private readonly weights: readonly Plane[],
  ) {}

  get count(): number {
    return this.contexts.length;
  }

  /** Token count of each region's context, for the graph builders (regionTokens). */
  get tokens(): number[] {
    return this.contexts.map((c) => c.shape[1]);
  }

  get key(): string {
    return `regions:${this.tokens.join(',')}`;
  }

  /** Mask input [R + 1, 2, h, w]: batch row 0 (uncond) all main, row 1 the pooled weights. */
  masksAt(h: number, w: number): Float32Array {
    const name = `${h}x${w}`;
    let out = this.pooled.get(name);
    if (!out) {
      const plane = h * w;
      out = new Float32Array(this.weights.length * 2 * plane);
      out.fill(1, 0, plane); // uncond row of the main prompt
      this.weights.forEach((wt, r) => out!.set(areaAverage(wt, h, w), (r * 2 + 1) * plane));
      this.pooled.set(name, out);
    }
    return out;
  }

  /** Feeds for the region inputs a session declares (names from regional-attention.ts). */
  feeds(inputNames: readonly string[]): Record<string, TensorData> {
    const feeds: Record<string, TensorData> = {};
    this.contexts.forEach((c, i) => (feeds[regionContextInputName(i)] = { dtype: 'float32', shape: c.shape, data: c.data }));
    for (const name of inputNames) {
      if (!name.startsWith(REGION_MASK_PREFIX)) continue;
      const [h, w] = name.slice(REGION_MASK_PREFIX.length).split('x').map(Number);
      feeds[name] = { dtype: 'float32', shape: [this.count + 1, 2, h, w], data: this.masksAt(h, w) };
    }
    return feeds;
  }

  /**
   * Encodes the regions of one generation. Regions whose mask is empty are skipped and reported through
   * `onSkipped`; none left means null (a plain generation). Each region's prompt is padded against the negative
   * the way the main prompt is (A1111), so a region covering everything is exactly that prompt alone.
   */
  static async prepare(
    runtime: ModelRuntime,
    checkpoint: string,
    regions: readonly RegionRequest[],
    main: { prompt: string; negative: string; width: number; height: number },
    opts: ConditioningOptions,
    onSkipped: (index: number, prompt: string) => void = () => {},
  ): Promise<RegionConditioning | null> {
    if (regions.length > MAX_REGIONS) throw new GenerateError('bad-request', `${regions.length} regions: at most ${MAX_REGIONS} can steer a generation`);
    const tokenizer = getClipTokenizer(opts.vocabPath);
    const neg = tokenizeWeightedPrompt(main.negative, tokenizer, { emphasis: opts.emphasis !== 'ignore' });
    const planes: Plane[] = [];
    const contexts: Tensor32[] = [];
    for (const [i, region] of regions.entries()) {
      const [, , h, w] = region.mask.shape;
      if (h !== main.height || w !== main.width) {
        throw new GenerateError('bad-request', `region ${i + 1}: mask is ${w}x${h}, the generation ${main.width}x${main.height}`);
      }
      if (!(region.feather >= 0 && region.feather <= 256)) throw new GenerateError('bad-request', `region ${i + 1}: feather ${region.feather} must be from 0 to 256 pixels`);
      const plane: Plane = { width: w, height: h, data: region.mask.data };
      if (isEmptyPlane(plane)) {
        onSkipped(i, region.prompt);
        continue;
      }
      const pos = tokenizeWeightedPrompt(regionText(region, main.prompt), tokenizer, { emphasis: opts.emphasis !== 'ignore' });
      const [chunks] = padChunkLists(pos.chunks, neg.chunks);
      const cond = await encodeChunks(runtime, checkpoint, chunks, opts); // [1, T_r, D]
      const data = new Float32Array(cond.data.length * 2);
      data.set(cond.data, cond.data.length);
      contexts.push({ shape: [2, cond.shape[1], cond.shape[2]], data });
      planes.push(featherPlane(plane, region.feather));
    }
    if (contexts.length === 0) return null;
    return new RegionConditioning(contexts, normaliseWeights(planes));
  }
}
