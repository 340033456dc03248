// The engine's 'generate' task: runs the pipeline (`generate`) for every picture of a run, A1111's way: batch
// size x batch count pictures with seeds seed, seed + 1, ... Sessions live in one ModelRuntime kept across jobs
// (graphs are built once per model and size), computing in float16 on GPU providers and float32 on the CPU.
// Each step reports progress with a small preview of the current estimate; a cancel stops within one step.
// Answers PNGs carrying A1111's `parameters` text; writing them to disk and to the history is main's work.

import { existsSync } from 'node:fs';
import type { GenerationSettings } from '../../common/generation-contract.ts';
import { settingsToInfotext } from '../../generation/infotext.ts';
import { encodePng } from '../../formats/png.ts';
import { hiresSecondPass, hiresTarget } from '../../common/hires-contract.ts';
import { REGIONS_PNG_KEYWORD, regionsToPngText } from '../../common/regions-contract.ts';
import { regionHintLabels } from '../../common/control-regions.ts';
import { tieControlsToRegions } from './control-region-payload.ts';
import { generate, type GenerateRequest, type StepUpdate } from '../pipeline/generate.ts';
import { generateHires } from '../pipeline/hires-fix.ts';
import { openHiresPlan, type OpenedHiresPlan } from './hires-plan.ts';
import { prepareRegions } from './region-payload.ts';
import type { ControlUnit } from '../pipeline/control-units.ts';
import type { ModelRole } from '../pipeline/model-checks.ts';
import { controlTensor, fittedPicture, imageToRgb8, initTensor, maskTensor } from '../pipeline/image-tensors.ts';
import { latentToRgb } from '../pipeline/latent-preview.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import { EmbeddingFileError, readTextualInversion, type TextualInversion } from '../pipeline/textual-inversion.ts';
import { describeFallback } from '../runtime/fusions.ts';
import { EngineRunError, type ProviderName } from '../runtime/session.ts';
import { generationOomMessage } from '../runtime/out-of-memory.ts';
import { TaskError, type TaskContext } from '../protocol.ts';
import {
  checkPayload,
  type GeneratePayload,
  type GeneratedPicture,
  type GenerateTaskResult,
  type PictureBytes,
} from './generate-payload.ts';

let kept: { key: string; runtime: ModelRuntime } | null = null;

/** The engine's runtime for this provider and precision; a change of either starts a fresh one. */
function runtimeFor(provider: string, compute: 'float16' | 'float32'): ModelRuntime {
  const key = `${provider}|${compute}`;
  if (kept?.key !== key) {
    void kept?.runtime.dispose();
    const providers: ProviderName[] = provider === 'cpu' ? ['cpu'] : [provider as ProviderName, 'cpu'];
    kept = { key, runtime: new ModelRuntime(compute, providers) };
  }
  return kept.runtime;
}

/** Releases the kept sessions and files (tests; the engine process otherwise keeps them until it exits). */
export async function releaseGenerateRuntime(): Promise<void> {
  const k = kept;
  kept = null;
  await k?.runtime.dispose();
}

export function computeFor(provider: string, asked: GeneratePayload['compute']): 'float16' | 'float32' {
  if (asked === 'float16' || asked === 'float32') return asked;
  return provider === 'cpu' ? 'float32' : 'float16';
}

/**
 * Every model file of the run exists and is what its role needs, before anything is built: a missing file is
 * 'model-missing'; the runtime's role check names a wrong or unsupported one ('wrong-model', 'unsupported-model').
 */
function checkModels(runtime: ModelRuntime, s: GenerationSettings): void {
  const check = (path: string, role: ModelRole, label: string) => {
    if (!existsSync(path)) {
      throw new TaskError('model-missing', `The ${label} ${path} does not exist (moved or deleted? rescan the library).`);
    }
    runtime.files.open(path, role);
  };
  check(s.checkpoint.path, 'checkpoint', 'checkpoint');
  for (const c of s.controls) {
    if (c.kind === 'ctrlora') {
      check(c.base?.path ?? '', 'ctrlora-base', 'CtrLoRA Base ControlNet');
      check(c.model.path, 'ctrlora-lora', 'CtrLoRA condition LoRA');
    } else check(c.model.path, c.kind, c.kind === 'cnxs' ? 'ControlNet-XS' : 'ControlNet');
  }
  for (const l of s.loras) check(l.model.path, 'lora', 'LoRA');
  for (const list of s.regionLoras ?? []) for (const l of list) check(l.model.path, 'lora', `LoRA ${l.model.name} of a region`);
  if (s.vae) check(s.vae.path, 'vae', 'VAE');
  if (s.hires?.upscaler === 'model' && !existsSync(s.hires.model?.path ?? '')) {
    throw new TaskError('model-missing', `The upscaler ${s.hires.model?.path ?? '(none named)'} does not exist (moved or deleted? rescan the library).`);
  }
}

/** Every embedding file that can be read; one message for each that cannot (A1111 skips those too). */
function loadEmbeddings(files: readonly string[], messages: string[]): TextualInversion[] {
  const loaded: TextualInversion[] = [];
  for (const file of files) {
    try {
      loaded.push(readTextualInversion(file));
    } catch (err) {
      messages.push(err instanceof EmbeddingFileError ? err.message : `Embedding ${file} cannot be read: ${(err as Error).message}`);
    }
  }
  return loaded;
}

/** Out of memory becomes a sentence that names the size and the next smaller step; anything else passes as is. */
export function explainFailure(err: unknown, s: GenerationSettings, provider: string, compute: 'float16' | 'float32'): unknown {
  if (err instanceof EngineRunError && err.kind === 'out-of-memory') {
    // With hires fix the second pass at the target size is the one that needs the most memory.
    const size = s.hires ? hiresTarget(s.width, s.height, s.hires) : { width: s.width, height: s.height };
    return new TaskError('out-of-memory', generationOomMessage({ ...size, batchSize: s.batchSize, provider, compute }, err));
  }
  return err;
}

function pngBytes(width: number, height: number, rgb: Uint8Array, text: Record<string, string> = {}): Uint8Array {
  return new Uint8Array(encodePng({ width, height, channels: 3, data: rgb }, text)); // a plain copy clones cleanly
}

export async function generateTask(raw: unknown, ctx: TaskContext): Promise<GenerateTaskResult> {
  const payload = checkPayload(raw);
  const s = payload.settings;
  const compute = computeFor(ctx.provider, payload.compute);
  const runtime = runtimeFor(ctx.provider, compute);
  const count = s.batchSize * s.batchCount;
  // refined by the sampler's own count (img2img runs fewer) at the first step; hires fix adds its second pass
  let perPicture = s.steps + (s.hires ? hiresSecondPass(s.steps, s.hires.steps, s.hires.denoise).runSteps : 0);
  const out = s.hires ? hiresTarget(s.width, s.height, s.hires) : { width: s.width, height: s.height };
  ctx.progress({ step: 0, total: count * perPicture, message: 'Loading the models' });
  checkModels(runtime, s);

  // every picture shrunk while decoding to what covers the generation, one at a time (memory stays small)
  const fit = (p: PictureBytes, what: string) => fittedPicture(p, Math.max(s.width, out.width), Math.max(s.height, out.height), what);
  const controlPictures: PictureBytes[] = [];
  for (const [i, p] of payload.controls.entries()) controlPictures.push(await fit(p, `control image ${i + 1}`));
  const initPicture = payload.init ? await fit(payload.init, 'init image') : null;
  const maskPicture = payload.mask ? await fit(payload.mask, 'mask') : null;
  const regions = prepareRegions(s.regions, s.width, s.height, s.regionLoras);
  // hints tied to a region follow it: renumbered to the regions kept, left out with one left out
  const tied = tieControlsToRegions(s.controls, s.regions?.length ?? 0, regions.kept, (s.regions ?? []).map((r) => r.prompt));
  const controlsAt = (width: number, height: number): ControlUnit[] =>
    tied.units.map(({ index: i, record: c }) => {
      const image = controlTensor(controlPictures[i], c.resizeMode, width, height, `control image ${i + 1}`);
      const unit = { image, weight: c.weight, start: c.start, end: c.end, region: c.region };
      if (c.kind === 'ctrlora') return { kind: 'ctrlora', base: c.base!.path, path: c.model.path, ...unit };
      return { kind: c.kind, path: c.model.path, ...unit };
    });
  const controls = controlsAt(s.width, s.height);
  const resize = s.initResizeMode ?? 'just-resize';
  const init = initPicture ? { image: initTensor(initPicture, resize, s.width, s.height), strength: s.denoisingStrength ?? 0.75 } : undefined;
  const mask = maskPicture ? maskTensor(maskPicture, resize, s.width, s.height) : undefined;
  const messages: string[] = [...regions.notes, ...tied.notes];
  const embeddings = loadEmbeddings(payload.embeddings ?? [], messages);

  let hires: OpenedHiresPlan | null = null;
  if (s.hires) {
    if (init || mask) throw new TaskError('bad-request', 'hires fix is for text-to-image: it cannot start from an init picture or inpaint');
    hires = await openHiresPlan({ ...s, hires: s.hires }, runtime.provider ?? ctx.provider, controlsAt);
  }
  try {
    return await generatePictures();
  } finally {
    await hires?.release();
  }

  async function generatePictures(): Promise<GenerateTaskResult> {
    const pictures: GeneratedPicture[] = [];
    for (let index = 0; index < count; index++) {
      ctx.signal.throwIfAborted();
      const seed = s.seed + index;
      const request: GenerateRequest = {
        checkpoint: s.checkpoint.path,
        prompt: s.prompt,
        negative: s.negative,
        width: s.width,
        height: s.height,
        steps: s.steps,
        cfg: s.cfg,
        seed,
        sampler: s.sampler,
        clipSkip: s.clipSkip,
        controls,
        loras: s.loras.map((l) => ({ path: l.model.path, strength: l.weight })),
        init,
        mask,
        regions: regions.requests,
        embeddings,
        vae: s.vae?.path ?? null,
      };
      let result;
      try {
        const hooks = {
          signal: ctx.signal,
          onRegionSkipped: (_: number, prompt: string) => {
            if (index === 0) messages.push(`region ${JSON.stringify(prompt.slice(0, 40))} has no weight: skipped`);
          },
          onStep: (u: StepUpdate) => {
            perPicture = u.total;
            const preview = pngBytes(u.latentWidth, u.latentHeight, latentToRgb(u.predicted, u.latentHeight, u.latentWidth));
            const of = count > 1 ? `picture ${index + 1} of ${count}, ` : '';
            ctx.progress({ step: index * perPicture + u.step, total: count * perPicture, message: `${of}step ${u.step} of ${u.total}`, preview });
          },
        };
        result = hires ? await generateHires(runtime, request, hires.plan, hooks) : await generate(runtime, request, hooks);
      } catch (err) {
        throw explainFailure(err, s, runtime.provider ?? ctx.provider, compute);
      }
      if (index === 0) for (const m of result.messages) messages.push(m);
      const { regions: _, regionLoras: __, ...rest } = s;
      const settings: GenerationSettings = {
        ...rest,
        controls: tied.units.map((u) => u.record),
        seed,
        batchIndex: index,
        ...(regions.records.length ? { regions: regions.records } : {}),
        ...(regions.recordLoras.some((l) => l.length > 0) ? { regionLoras: regions.recordLoras } : {}),
      };
      if (result.embeddingsUsed.length > 0) {
        settings.embeddings = result.embeddingsUsed.map((e) => ({ id: null, name: e.name, hash: e.shortHash, path: e.path }));
      }
      const parameters = settingsToInfotext(settings);
      const text: Record<string, string> = { parameters };
      if (regions.records.length) text[REGIONS_PNG_KEYWORD] = regionsToPngText(regions.records, regionHintLabels(settings.controls, regions.records.length));
      const picture: GeneratedPicture = {
        index,
        seed,
        png: pngBytes(out.width, out.height, imageToRgb8(result.image.data, out.height, out.width), text),
        parameters,
        settings,
        latentShape: result.latents.shape,
      };
      if (payload.returnLatents) picture.latents = result.latents.data;
      pictures.push(picture);
    }
    return { pictures, provider: runtime.provider ?? ctx.provider, compute, fallbacks: runtime.sessions.fallbacks.map(describeFallback), messages };
  }
}
