// Text conditioning for a run whose prompt or negative prompt uses A1111's prompt editing or alternation
// (generation/prompt-schedule.ts). Both schedules are built over the steps as A1111 counts them (scheduleSteps),
// each denoiser call picks the entry of each schedule its counter falls in, and the pair's context is encoded the
// way encodePromptPair does it (both padded to the same chunk count). The text encoder runs once per distinct
// (text, chunk count): a step where neither schedule changes reuses the context, and a change of one prompt
// re-encodes only that one. A prompt without prompt editing is a one-entry schedule, encoded exactly as before.
// Textual-inversion embeddings named in any step's text enter the encoder as encodePromptPair does it; the
// ones used and the ones left out (another text encoder's width) are kept for the record.

import { padChunkLists, tokenizeWeightedPrompt, type EmphasisMode } from '../../generation/prompt-syntax.ts';
import { promptSchedule, textIndexAt, type ScheduleOptions, type ScheduledText } from '../../common/prompt-schedule.ts';
import { EmbeddingLookup } from '../../generation/prompt-embeddings.ts';
import { getClipTokenizer } from '../../generation/tokenizer.ts';
import { batchOf, encodeChunks, namedIn, type ConditioningOptions } from './conditioning.ts';
import type { ModelRuntime, Tensor32 } from './model-runtime.ts';
import { embeddingsForWidth, widthMismatchMessage, type TextualInversion } from './textual-inversion.ts';

/**
 * The step count A1111 builds schedules over: the sampler's steps, doubled for the samplers A1111 marks
 * "second_order" (two denoiser calls per step: here the samplers whose `order` is 2, DPM++ SDE).
 * (processing.setup_conds: total_steps = sampler_config.total_steps(steps).)
 */
export function scheduleSteps(steps: number, samplerOrder: number): number {
  return steps * samplerOrder;
}

/** Owns the encodings of one run; made by `prepare`, dropped with the run. */
export class ScheduledConditioning {
  /** Text encoder runs so far, for tests and logs. */
  encoderRuns = 0;
  private readonly encoded = new Map<string, Promise<Tensor32>>();
  private readonly contexts = new Map<string, Promise<Tensor32>>();
  private readonly used = new Map<string, TextualInversion>();
  private embeddings: EmbeddingLookup | undefined;
  /** One sentence per embedding the prompts name that was left out (made for another text encoder's width). */
  embeddingMessages: string[] = [];

  private constructor(
    private readonly runtime: ModelRuntime,
    private readonly checkpoint: string,
    readonly cond: readonly ScheduledText[],
    readonly uncond: readonly ScheduledText[],
    private readonly opts: ConditioningOptions,
  ) {}

  /**
   * Schedules for both prompts over `totalSteps` (see scheduleSteps). Throws PromptScheduleError for a schedule
   * that does not parse; encodes the first step's context so a bad prompt or model fails before sampling.
   * A hires pass gives the first pass's total as `totalSteps` and its own as `schedule.hiresSteps` (A1111).
   */
  static async prepare(
    runtime: ModelRuntime,
    checkpoint: string,
    prompt: string,
    negative: string,
    totalSteps: number,
    opts: ConditioningOptions,
    schedule: ScheduleOptions = {},
  ): Promise<ScheduledConditioning> {
    const c = new ScheduledConditioning(
      runtime,
      checkpoint,
      promptSchedule(prompt, totalSteps, schedule),
      promptSchedule(negative, totalSteps, schedule),
      opts,
    );
    const tokenizer = getClipTokenizer(opts.vocabPath);
    const width = runtime.textWidth(checkpoint);
    const { usable, skipped } = embeddingsForWidth(opts.embeddings ?? [], width);
    c.embeddings = usable.length > 0 ? new EmbeddingLookup(usable, tokenizer) : undefined;
    const texts = [...c.cond, ...c.uncond].map((t) => t.text);
    c.embeddingMessages = namedIn(texts, skipped, tokenizer).map((e) => widthMismatchMessage(e, width));
    await c.contextAt(0);
    return c;
  }

  /** The embeddings the texts encoded so far used, in order of first use (all of them once sampling ends). */
  get embeddingsUsed(): TextualInversion[] {
    return [...this.used.values()];
  }

  /** The [2, T, D] context ([uncond, cond], as diffusers batches CFG) for denoiser call `counter`, from 0. */
  contextAt(counter: number): Promise<Tensor32> {
    const condText = this.cond[textIndexAt(this.cond, counter)].text;
    const uncondText = this.uncond[textIndexAt(this.uncond, counter)].text;
    const key = JSON.stringify([condText, uncondText]);
    let context = this.contexts.get(key);
    if (!context) {
      context = this.encodePair(condText, uncondText);
      this.contexts.set(key, context);
    }
    return context;
  }

  private async encodePair(condText: string, uncondText: string): Promise<Tensor32> {
    const tokenizer = getClipTokenizer(this.opts.vocabPath);
    const emphasis = this.opts.emphasis !== ('ignore' satisfies EmphasisMode);
    const pos = tokenizeWeightedPrompt(condText, tokenizer, { emphasis, embeddings: this.embeddings });
    const neg = tokenizeWeightedPrompt(uncondText, tokenizer, { emphasis, embeddings: this.embeddings });
    for (const chunk of [...pos.chunks, ...neg.chunks]) {
      for (const f of chunk.fixes ?? []) this.used.set(f.embedding.name, f.embedding as TextualInversion);
    }
    const [pc, nc] = padChunkLists(pos.chunks, neg.chunks);
    const uncond = await this.encodeText(uncondText, nc);
    const cond = await this.encodeText(condText, pc);
    return batchOf([uncond, cond]);
  }

  /** One text padded to `chunks.length` chunks, encoded once. */
  private encodeText(text: string, chunks: Parameters<typeof encodeChunks>[2]): Promise<Tensor32> {
    const key = `${chunks.length}|${text}`;
    let hidden = this.encoded.get(key);
    if (!hidden) {
      this.encoderRuns++;
      hidden = encodeChunks(this.runtime, this.checkpoint, chunks, this.opts);
      this.encoded.set(key, hidden);
    }
    return hidden;
  }
}
