// The engine's 'generate' task: runs the pipeline (`generate`) for every picture of a run, A1111's way: batch
// size x batch count pictures with seeds seed, seed + 1, ... Sessions live in one ModelRuntime kept across jobs
// (graphs are built once per model and size), computing in float16 on GPU providers and float32 on the CPU.
// Each step reports progress with a small preview of the current estimate; a cancel stops within one step.
// Answers PNGs carrying A1111's `parameters` text; writing them to disk and to the history is main's work.

import { existsSync } from 'node:fs';
import type { GenerationSettings } from '../../common/generation-contract.ts';
import { settingsToInfotext } from '../../generation/infotext.ts';
import { encodePng } from '../../formats/png.ts';
import { generate, type GenerateRequest } from '../pipeline/generate.ts';
import type { ControlUnit } from '../pipeline/control-units.ts';
import type { ModelRole } from '../pipeline/model-checks.ts';
import { controlTensor, fittedPicture, imageToRgb8, initTensor, maskTensor } from '../pipeline/image-tensors.ts';
import { latentToRgb } from '../pipeline/latent-preview.ts';
import { ModelRuntime } from '../pipeline/model-runtime.ts';
import { describeFallback } from '../runtime/fusions.ts';
import { EngineRunError, type ProviderName } from '../runtime/session.ts';
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
}

/** Out of memory becomes a sentence that names the size and what to lower; anything else passes as is. */
export function explainFailure(err: unknown, s: GenerationSettings, provider: string, compute: 'float16' | 'float32'): unknown {
  if (err instanceof EngineRunError && err.kind === 'out-of-memory') {
    const fp16 = compute === 'float32' ? ', or compute in fp16 (half precision)' : '';
    return new TaskError(
      'out-of-memory',
      `Out of memory generating ${s.width}x${s.height} (batch size ${s.batchSize}) on ${provider} in ${compute}: ` +
        `lower the width and height or the batch size${fp16}, or close other programs using the ${provider === 'cpu' ? 'memory' : 'GPU'}. (${err.message})`,
    );
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
  let perPicture = s.steps; // refined by the sampler's own count (img2img runs fewer) at the first step
  ctx.progress({ step: 0, total: count * perPicture, message: 'Loading the models' });
  checkModels(runtime, s);

  // every picture shrunk while decoding to what covers the generation, one at a time (memory stays small)
  const fit = (p: PictureBytes, what: string) => fittedPicture(p, s.width, s.height, what);
  const controlPictures: PictureBytes[] = [];
  for (const [i, p] of payload.controls.entries()) controlPictures.push(await fit(p, `control image ${i + 1}`));
  const initPicture = payload.init ? await fit(payload.init, 'init image') : null;
  const maskPicture = payload.mask ? await fit(payload.mask, 'mask') : null;
  const controls: ControlUnit[] = s.controls.map((c, i) => {
    const image = controlTensor(controlPictures[i], c.resizeMode, s.width, s.height, `control image ${i + 1}`);
    const unit = { image, weight: c.weight, start: c.start, end: c.end };
    if (c.kind === 'ctrlora') return { kind: 'ctrlora', base: c.base!.path, path: c.model.path, ...unit };
    return { kind: c.kind, path: c.model.path, ...unit };
  });
  const resize = s.initResizeMode ?? 'just-resize';
  const init = initPicture ? { image: initTensor(initPicture, resize, s.width, s.height), strength: s.denoisingStrength ?? 0.75 } : undefined;
  const mask = maskPicture ? maskTensor(maskPicture, resize, s.width, s.height) : undefined;

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
    };
    let result;
    try {
      result = await generate(runtime, request, {
        signal: ctx.signal,
        onStep: (u) => {
          perPicture = u.total;
          const preview = pngBytes(s.width / 8, s.height / 8, latentToRgb(u.predicted, s.height / 8, s.width / 8));
          const of = count > 1 ? `picture ${index + 1} of ${count}, ` : '';
          ctx.progress({ step: index * perPicture + u.step, total: count * perPicture, message: `${of}step ${u.step} of ${u.total}`, preview });
        },
      });
    } catch (err) {
      throw explainFailure(err, s, runtime.provider ?? ctx.provider, compute);
    }
    const settings: GenerationSettings = { ...s, seed, batchIndex: index };
    const parameters = settingsToInfotext(settings);
    const picture: GeneratedPicture = {
      index,
      seed,
      png: pngBytes(s.width, s.height, imageToRgb8(result.image.data, s.height, s.width), { parameters }),
      parameters,
      settings,
      latentShape: result.latents.shape,
    };
    if (payload.returnLatents) picture.latents = result.latents.data;
    pictures.push(picture);
  }
  return { pictures, provider: runtime.provider ?? ctx.provider, compute, fallbacks: runtime.sessions.fallbacks.map(describeFallback) };
}
