// Regional prompting for one generation: each region's prompt encoded with the same A1111 rules as the main
// prompt (weights, BREAK, textual-inversion embeddings, prompt editing), and the per-resolution weights the graphs'
// regional cross-attention mixes with (region-masks.ts).
// The CFG batch is [uncond, cond]: the uncond row gives the main (negative) context all the weight everywhere,
// so the negative branch is exactly the negative prompt's. The graphs compute a region's attention on the cond row
// only (models/regional-attention.ts), so its uncond context (zeros) and weight there are never read.
// A region with LoRAs of its own (`<lora:name:w>` in its prompt, region-lora.ts) is the exception: a whole-picture
// run with that LoRA would read the negative through the LoRA too, so that region's uncond row is the negative
// encoded with its LoRAs and padded to its chunk count, and it takes the region's weight in the uncond row as well.
// Region prompts are padded against the negative the way the main prompt is (A1111), step by step: when the
// negative uses prompt editing, each step pads against the text the negative encodes at that step. Region prompts
// may use prompt editing and alternation themselves (as A1111's Regional Prompter allows), on the same counter.
//
// Ownership: a RegionConditioning is made per generation and read by every UNet/ControlNet evaluation of it,
// whatever their latent size (a hires pass asks for other level sizes and gets them pooled from the same pixels).

import { padChunkLists, tokenizeWeightedPrompt } from '../../generation/prompt-syntax.ts';
import { EmbeddingLookup } from '../../generation/prompt-embeddings.ts';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { promptSchedule, textIndexAt, type ScheduleOptions, type ScheduledText } from '../../common/prompt-schedule.ts';
import { withoutLoraTags } from '../../common/region-loras.ts';
import { REGION_MASK_PREFIX, regionContextInputName } from '../models/regional-attention.ts';
import { REGION_LORA_MASK_PREFIX } from '../models/region-lora.ts';
import type { TensorData } from '../runtime/session.ts';
import { encodeChunks, namedIn, type ConditioningOptions } from './conditioning.ts';
import type { LoraUse, ModelRuntime, RegionFeeds, Tensor32 } from './model-runtime.ts';
import { featherRegions, type RegionMask } from './feathered-regions.ts';
import { areaAverage, normaliseWeights, type Plane } from './region-masks.ts';
import { embeddingsForWidth, widthMismatchMessage, type TextualInversion } from './textual-inversion.ts';

import { MAX_REGIONS } from '../../common/regions-contract.ts';

export { MAX_REGIONS };

export interface RegionRequest {
  /** [1, 1, H, W] at the generation size, in [0, 1]: 1 = the region, between = partial weight. */
  mask: Tensor32;
  /** A1111 syntax; `<lora:...>` tags are taken out (their files come resolved in `loras`). */
  prompt: string;
  /** Edge softness in pixels (0: hard edge). */
  feather: number;
  /** Append the main prompt to the region's (Krita's switch): the region's text becomes "region, main". */
  appendMain: boolean;
  /** LoRAs tied to the region (its prompt's tags, resolved): they act only where the region is (region-lora.ts). */
  loras?: LoraUse[];
}

/** The text a region is encoded from. */
export function regionText(region: Pick<RegionRequest, 'prompt' | 'appendMain'>, mainPrompt: string): string {
  const own = withoutLoraTags(region.prompt);
  return region.appendMain && mainPrompt.trim() ? `${own}, ${mainPrompt}` : own;
}

/** How prompt editing counts: over `steps` (scheduled-conditioning.ts scheduleSteps), hires pass included. */
export interface RegionSchedule {
  steps: number;
  options?: ScheduleOptions;
}

/** Kohya's name of the timestep-embedding MLP (LDM time_embed.*), which region-lora.ts leaves out. */
const TIME_EMBEDDING_MODULE = 'lora_unet_time_embedding';

interface PreparedRegion {
  /** The region's text over the steps (one entry without prompt editing). */
  texts: readonly ScheduledText[];
  loras: readonly LoraUse[];
}

/** What the runtime feeds a graph with regions, step by step (`at`). */
export class RegionConditioning {
  private readonly pooled = new Map<string, Float32Array>();
  private readonly pooledLoraMasks = new Map<string, Float32Array>();
  private readonly encoded = new Map<string, Promise<Tensor32>>();
  private readonly used = new Map<string, TextualInversion>();
  /** The LoRAs tied to each region, in the graphs' region order. */
  readonly loras: readonly (readonly LoraUse[])[];
  /**
   * What was left out, one sentence each: a region LoRA's timestep-embedding layers (no mask can place them), an
   * embedding a region prompt names that was made for another text encoder.
   */
  notes: string[] = [];

  private constructor(
    private readonly runtime: ModelRuntime,
    private readonly checkpoint: string,
    private readonly opts: ConditioningOptions,
    private readonly embeddings: EmbeddingLookup | undefined,
    private readonly regions: readonly PreparedRegion[],
    /** The negative prompt over the steps. */
    private readonly negative: readonly ScheduledText[],
    /** Normalised pixel weights, [0] the main prompt's. */
    private readonly weights: readonly Plane[],
    /** Feathered, not normalised, masks of the regions (where their LoRAs act), shared with the tied hints. */
    private readonly feathered: readonly RegionMask[],
  ) {
    this.loras = regions.map((r) => r.loras);
  }

  get count(): number {
    return this.regions.length;
  }

  /** The embeddings the region texts encoded so far used. */
  get embeddingsUsed(): TextualInversion[] {
    return [...this.used.values()];
  }

  /**
   * Mask input [R + 1, 2, h, w]. Batch row 1 (cond): the pooled weights. Row 0 (uncond): all main, except that a
   * region with LoRAs keeps its weight there (its uncond context is the negative through its LoRAs).
   */
  masksAt(h: number, w: number): Float32Array {
    const name = `${h}x${w}`;
    let out = this.pooled.get(name);
    if (!out) {
      const plane = h * w;
      out = new Float32Array(this.weights.length * 2 * plane);
      const pooled = this.weights.map((wt) => areaAverage(wt, h, w));
      pooled.forEach((p, r) => out!.set(p, (r * 2 + 1) * plane));
      const mainUncond = new Float32Array(plane).fill(1);
      this.regions.forEach((region, i) => {
        if (region.loras.length === 0) return;
        out!.set(pooled[i + 1], (i + 1) * 2 * plane);
        for (let p = 0; p < plane; p++) mainUncond[p] -= pooled[i + 1][p];
      });
      out.set(mainUncond, 0);
      this.pooled.set(name, out);
    }
    return out;
  }

  /** Region-LoRA mask input [R, 2, h, w]: each region's feathered mask pooled, the same in both batch rows. */
  loraMasksAt(h: number, w: number): Float32Array {
    const name = `${h}x${w}`;
    let out = this.pooledLoraMasks.get(name);
    if (!out) {
      const plane = h * w;
      out = new Float32Array(this.feathered.length * 2 * plane);
      this.feathered.forEach((m, r) => {
        const pooled = m.at(h, w);
        out!.set(pooled, r * 2 * plane);
        out!.set(pooled, (r * 2 + 1) * plane);
      });
      this.pooledLoraMasks.set(name, out);
    }
    return out;
  }

  /** The feeds for denoiser call `counter` (from 0, as ScheduledConditioning.contextAt counts). */
  async at(counter: number): Promise<RegionFeeds> {
    const negative = this.negative[textIndexAt(this.negative, counter)].text;
    const contexts = await Promise.all(this.regions.map((r, i) => this.context(i, r.texts[textIndexAt(r.texts, counter)].text, negative)));
    const tokens = contexts.map((c) => c.shape[1]);
    return {
      key: `regions:${tokens.join(',')}`,
      tokens,
      loras: this.loras,
      feeds: (inputNames) => {
        const feeds: Record<string, TensorData> = {};
        contexts.forEach((c, i) => (feeds[regionContextInputName(i)] = { dtype: 'float32', shape: c.shape, data: c.data }));
        for (const name of inputNames) {
          if (name.startsWith(REGION_MASK_PREFIX)) {
            const [h, w] = name.slice(REGION_MASK_PREFIX.length).split('x').map(Number);
            feeds[name] = { dtype: 'float32', shape: [this.count + 1, 2, h, w], data: this.masksAt(h, w) };
          } else if (name.startsWith(REGION_LORA_MASK_PREFIX)) {
            const [h, w] = name.slice(REGION_LORA_MASK_PREFIX.length).split('x').map(Number);
            feeds[name] = { dtype: 'float32', shape: [this.count, 2, h, w], data: this.loraMasksAt(h, w) };
          }
        }
        return feeds;
      },
    };
  }

  /**
   * Region i's context [2, T, D] for its text and the negative's text at one step: row 1 the region's text padded
   * against that negative (A1111's padding), row 0 zeros, or the negative through the region's LoRAs when it has any.
   */
  private context(i: number, text: string, negative: string): Promise<Tensor32> {
    const key = JSON.stringify([i, text, negative]);
    let context = this.encoded.get(key);
    if (!context) {
      context = this.encode(this.regions[i], text, negative);
      this.encoded.set(key, context);
    }
    return context;
  }

  private async encode(region: PreparedRegion, text: string, negative: string): Promise<Tensor32> {
    const tokenizer = getClipTokenizer(this.opts.vocabPath);
    const emphasis = this.opts.emphasis !== 'ignore';
    const pos = tokenizeWeightedPrompt(text, tokenizer, { emphasis, embeddings: this.embeddings });
    const neg = tokenizeWeightedPrompt(negative, tokenizer, { emphasis, embeddings: this.embeddings });
    for (const chunk of pos.chunks) for (const f of chunk.fixes ?? []) this.used.set(f.embedding.name, f.embedding as TextualInversion);
    const [pc, nc] = padChunkLists(pos.chunks, neg.chunks);
    const opts = { ...this.opts, loras: [...this.opts.loras, ...region.loras] };
    const cond = await encodeChunks(this.runtime, this.checkpoint, pc, opts); // [1, T_r, D]
    const data = new Float32Array(cond.data.length * 2);
    if (region.loras.length > 0) data.set((await encodeChunks(this.runtime, this.checkpoint, nc, opts)).data, 0);
    data.set(cond.data, cond.data.length);
    return { shape: [2, cond.shape[1], cond.shape[2]], data };
  }

  /**
   * Encodes the regions of one generation. Regions whose mask is empty are skipped and reported through
   * `onSkipped`; none left means null (a plain generation). Each region's prompt is padded against the negative
   * the way the main prompt is (A1111), so a region covering everything is exactly that prompt alone. `opts` are the
   * main prompt's (its LoRAs act in every region too; its embeddings may be named in region prompts). `masks` are
   * the regions' feathered masks (feathered-regions.ts), indexed as `regions`: the generation's one set, which
   * the hints tied to regions share.
   */
  static async prepare(
    runtime: ModelRuntime,
    checkpoint: string,
    regions: readonly RegionRequest[],
    main: { prompt: string; negative: string; width: number; height: number },
    opts: ConditioningOptions,
    onSkipped: (index: number, prompt: string) => void = () => {},
    schedule: RegionSchedule = { steps: 1 },
    masks: readonly (RegionMask | null)[] = featherRegions(regions, main.width, main.height),
  ): Promise<RegionConditioning | null> {
    if (masks.length !== regions.length) throw new RangeError(`${masks.length} region masks for ${regions.length} regions`);
    const kept: RegionMask[] = [];
    const prepared: PreparedRegion[] = [];
    for (const [i, region] of regions.entries()) {
      const mask = masks[i];
      if (!mask) {
        onSkipped(i, region.prompt);
        continue;
      }
      prepared.push({ texts: promptSchedule(regionText(region, main.prompt), schedule.steps, schedule.options), loras: region.loras ?? [] });
      kept.push(mask);
    }
    if (prepared.length === 0) return null;
    const tokenizer = getClipTokenizer(opts.vocabPath);
    const width = runtime.textWidth(checkpoint);
    const { usable, skipped } = embeddingsForWidth(opts.embeddings ?? [], width);
    const embeddings = usable.length > 0 ? new EmbeddingLookup(usable, tokenizer) : undefined;
    const negative = promptSchedule(main.negative, schedule.steps, schedule.options);
    const conditioning = new RegionConditioning(runtime, checkpoint, opts, embeddings, prepared, negative, normaliseWeights(kept.map((m) => m.plane)), kept);
    const texts = prepared.flatMap((r) => r.texts.map((t) => t.text));
    conditioning.notes.push(...namedIn(texts, skipped, tokenizer).map((e) => widthMismatchMessage(e, width)));
    for (const region of prepared) {
      for (const lora of region.loras) {
        const placeless = [...runtime.files.loraModules(lora.path).keys()].filter((m) => m.startsWith(TIME_EMBEDDING_MODULE));
        if (placeless.length > 0) {
          conditioning.notes.push(`LoRA ${lora.path} in a region: its ${placeless.length} timestep-embedding layer(s) act on the whole step, not on a place, so they are left out inside the region`);
        }
      }
    }
    await conditioning.at(0); // a bad prompt or model fails before sampling
    return conditioning;
  }
}
