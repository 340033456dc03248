// What main (or the CLI) sends the engine's 'generate' task, and what it answers. The payload is structured-
// cloned across the process boundary, so pictures travel as bytes: PNG files as they are, or raw RGB8 pixels.
// The pictures become the pipeline's tensors in ../pipeline/image-tensors.ts.

import type { GenerationSettings, ResizeModeName } from '../../common/generation-contract.ts';
import { TaskError } from '../protocol.ts';

/** A picture: PNG bytes, or RGB8 pixels row-major [H, W, 3]. */
export type PictureBytes = { png: Uint8Array } | { rgb: Uint8Array; width: number; height: number };

export type ComputePrecision = 'auto' | 'float16' | 'float32';

export interface GeneratePayload {
  /** Every setting of the run; `seed` is the first picture's, `batchIndex` is ignored. Model paths inside. */
  settings: GenerationSettings;
  /** One picture per entry of settings.controls, in the same order. */
  controls: PictureBytes[];
  init: PictureBytes | null;
  mask: PictureBytes | null;
  /** float16 on GPU providers and float32 on the CPU unless said otherwise. */
  compute?: ComputePrecision;
  /** Answer each picture's final latents too (the CLI's --latents-out). */
  returnLatents?: boolean;
  /** Textual-inversion embedding files the prompts may name, each by its stem (the library's or --embeddings). */
  embeddings?: string[];
}

export interface GeneratedPicture {
  /** Position in the run (0-based) and the seed it used: first seed + index. */
  index: number;
  seed: number;
  /** The PNG with its `parameters` text. */
  png: Uint8Array;
  parameters: string;
  settings: GenerationSettings;
  /** [1, 4, H/8, W/8] when asked for. */
  latents?: Float32Array;
  latentShape: number[];
}

export interface GenerateTaskResult {
  pictures: GeneratedPicture[];
  provider: string;
  compute: 'float16' | 'float32';
  /** Fused graphs the provider refused so far, each in one line (runtime/fusions.ts): the plain graphs ran. */
  fallbacks: string[];
  /**
   * What was adjusted or left out, one sentence each: a region mask resized, an empty region skipped (and a hint
   * tied to it), an embedding that cannot be read or was made for another text encoder. The CLI prints them, the
   * studio shows them.
   */
  messages?: string[];
}

/** The pictures of a run: one hint per control unit (in the settings' order), the img2img start and the mask. */
export interface RunPictures {
  controls: PictureBytes[];
  init: PictureBytes | null;
  mask: PictureBytes | null;
}

/**
 * The one builder of 'generate' payloads, for the studio's GenerationService and for `hintbrush generate`:
 * resolved settings (model paths inside), the run's pictures, and the CLI's engine options.
 */
export function generatePayload(settings: GenerationSettings, pictures: RunPictures, options: Pick<GeneratePayload, 'compute' | 'returnLatents' | 'embeddings'> = {}): GeneratePayload {
  if (pictures.controls.length !== settings.controls.length) {
    throw new RangeError(`generate: ${pictures.controls.length} control pictures for ${settings.controls.length} control units`);
  }
  return { settings, controls: pictures.controls, init: pictures.init, mask: pictures.mask, ...options };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPicture(v: unknown): v is PictureBytes {
  if (!isObject(v)) return false;
  if (v.png instanceof Uint8Array) return true;
  return v.rgb instanceof Uint8Array && Number.isSafeInteger(v.width) && Number.isSafeInteger(v.height);
}

/** Shape checks of a payload (main validated the values; this catches a caller that built it wrong). */
export function checkPayload(payload: unknown): GeneratePayload {
  const bad = (what: string) => new TaskError('bad-request', `generate: ${what}`);
  if (!isObject(payload) || !isObject(payload.settings)) throw bad('the payload needs settings');
  const s = payload.settings as unknown as GenerationSettings;
  if (!isObject(s.checkpoint) || typeof s.checkpoint.path !== 'string') throw bad('settings.checkpoint.path is missing');
  if (!Array.isArray(s.controls) || !Array.isArray(s.loras)) throw bad('settings.controls and settings.loras must be lists');
  const controls = payload.controls;
  if (!Array.isArray(controls) || controls.length !== s.controls.length || !controls.every(isPicture)) {
    throw bad('one control picture per control unit is needed');
  }
  for (const key of ['init', 'mask'] as const) {
    if (payload[key] !== null && payload[key] !== undefined && !isPicture(payload[key])) throw bad(`${key} is not a picture`);
  }
  if ((payload.mask ?? null) !== null && (payload.init ?? null) === null) throw bad('a mask needs an init picture');
  for (const [name, n, lo, hi] of [
    ['steps', s.steps, 1, 150],
    ['batchSize', s.batchSize, 1, 64],
    ['batchCount', s.batchCount, 1, 1000],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < lo || n > hi) throw bad(`settings.${name} must be an integer from ${lo} to ${hi}`);
  }
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) throw bad('settings.seed must be a non-negative integer');
  return {
    settings: s,
    controls: controls as PictureBytes[],
    init: (payload.init as PictureBytes | null | undefined) ?? null,
    mask: (payload.mask as PictureBytes | null | undefined) ?? null,
    compute: (['auto', 'float16', 'float32'] as const).find((c) => c === payload.compute) ?? 'auto',
    returnLatents: payload.returnLatents === true,
    embeddings: Array.isArray(payload.embeddings) ? payload.embeddings.filter((e): e is string => typeof e === 'string') : [],
  };
}
