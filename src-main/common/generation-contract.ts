// The generation part of the contract (contract.ts lists the methods and events; the shapes and their input
// validators live here): text, image and hints to pictures, the history of what was made, and reading the
// settings back from an A1111 PNG. Pure module: no Node, Electron or DOM imports.
//
// Models are named by their library id, or by their path exactly as the library lists it: main resolves both
// against the library and refuses anything else, so a renderer can never point the engine at an arbitrary file.

import { ContractError } from './errors.ts';
import { base64, fields, int, list, model, num, oneOf, text, type ModelSelector } from './field-validators.ts';
import type { ModelRef, ReadModel } from './model-refs.ts';
import { validateHires, type HiresInput, type HiresSettings, type ReadHires } from './hires-contract.ts';
import { promptScheduleProblem } from './prompt-schedule.ts';
import { checkControlRegions } from './control-regions.ts';
import { MAX_REGIONS, validateRegions, type RegionRecord } from './regions-contract.ts';

export type SamplerName = 'ddim' | 'euler' | 'euler_a' | 'dpmpp_2m' | 'dpmpp_2m_karras' | 'dpmpp_sde_karras' | 'unipc' | 'lcm';
export const SAMPLER_NAMES: readonly SamplerName[] = ['ddim', 'euler', 'euler_a', 'dpmpp_2m', 'dpmpp_2m_karras', 'dpmpp_sde_karras', 'unipc', 'lcm'];

/** A1111's display names (the "Sampler:" field of its parameters text, before v1.9 split out schedules). */
export const A1111_SAMPLER_NAMES: Readonly<Record<SamplerName, string>> = {
  ddim: 'DDIM',
  euler: 'Euler',
  euler_a: 'Euler a',
  dpmpp_2m: 'DPM++ 2M',
  dpmpp_2m_karras: 'DPM++ 2M Karras',
  dpmpp_sde_karras: 'DPM++ SDE Karras',
  unipc: 'UniPC',
  lcm: 'LCM',
};

/** A1111's "Just resize", "Crop and resize", "Resize and fill", for hints and init images of another size. */
export type ResizeModeName = 'just-resize' | 'crop-and-resize' | 'resize-and-fill';
export const RESIZE_MODE_NAMES: readonly ResizeModeName[] = ['just-resize', 'crop-and-resize', 'resize-and-fill'];

export type ControlKind = 'controlnet' | 'ctrlora' | 'cnxs';
export const CONTROL_KINDS: readonly ControlKind[] = ['controlnet', 'ctrlora', 'cnxs'];

/** A library model: its id, or its path as the library lists it. */
export type { ModelSelector, ModelRef, ReadModel };

export interface ControlUnitInput {
  kind: ControlKind;
  /** The ControlNet, the CtrLoRA condition LoRA, or the ControlNet-XS. */
  model: ModelSelector;
  /** CtrLoRA only: the Base ControlNet the condition LoRA runs on. */
  base?: ModelSelector;
  /** The hint, an RGB(A) PNG; resized to the generation size with `resizeMode` when its size differs. */
  imagePngBase64: string;
  weight: number; // 0..2
  start: number; // fraction of the steps, 0 <= start < end <= 1
  end: number;
  resizeMode: ResizeModeName;
  /** The studio's hint layer the hint came from, recorded in the history (absent from the CLI). */
  layer?: string;
  /**
   * The region (an index into the same request's `regions`) whose feathered mask limits this hint; absent or null:
   * the whole picture. ControlNet and CtrLoRA units only (control-regions.ts says why).
   */
  region?: number | null;
}

export interface LoraInput {
  model: ModelSelector;
  weight: number; // 0..2
}

export interface GenerateInput {
  checkpoint: ModelSelector;
  prompt: string;
  negative: string;
  width: number; // multiple of 8, 64..2048
  height: number;
  steps: number; // 1..150
  cfg: number; // 0..30
  /** 0..2^32-1; null draws a random seed in main (always recorded). Image i of the run uses seed + i. */
  seed: number | null;
  sampler: SamplerName;
  clipSkip: 1 | 2;
  controls: ControlUnitInput[];
  loras: LoraInput[];
  /** img2img: the picture to start from and the fraction of the steps that run (0 < strength <= 1). */
  init: { imagePngBase64: string; strength: number; resizeMode: ResizeModeName } | null;
  /** Inpainting (needs init): white repaints, black keeps. */
  mask: { imagePngBase64: string } | null;
  batchSize: number; // images per batch, 1..8
  batchCount: number; // batches, 1..100
  /**
   * A standalone VAE for this generation. Absent: the checkpoint's default VAE (library.setDefaultVae) if it has
   * one; null: the checkpoint's own VAE.
   */
  vae?: ModelSelector | null;
  /** Hires fix (txt2img only): upscale the picture made at width x height and run a second pass (hires-contract.ts). */
  hires?: HiresInput | null;
  /** Regional prompts (regions-contract.ts); absent or empty: the whole picture follows `prompt`. */
  regions?: RegionRecord[];
}

export interface ControlRecord {
  kind: ControlKind;
  model: ModelRef;
  base: ModelRef | null;
  weight: number;
  start: number;
  end: number;
  resizeMode: ResizeModeName;
  /** The hint layer the hint came from (studio runs; absent for the CLI and for settings read from a PNG). */
  layer?: string;
  /** The region (index into the settings' `regions`) the hint is limited to; absent: the whole picture. */
  region?: number;
}

/** Everything one picture was made with; `seed` is this picture's own. */
export interface GenerationSettings {
  prompt: string;
  negative: string;
  width: number;
  height: number;
  steps: number;
  cfg: number;
  seed: number;
  sampler: SamplerName;
  clipSkip: 1 | 2;
  checkpoint: ModelRef;
  controls: ControlRecord[];
  loras: { model: ModelRef; weight: number }[];
  /** img2img strength, null for txt2img. */
  denoisingStrength: number | null;
  /** How the init picture (and mask) was fitted to the size; null for txt2img. */
  initResizeMode: ResizeModeName | null;
  inpaint: boolean;
  batchSize: number;
  batchCount: number;
  /** Which picture of its run (0-based): seed = first seed + batchIndex. */
  batchIndex: number;
  /** A standalone VAE that replaced the checkpoint's (hash: A1111's sha256[0:10]); absent or null: the checkpoint's. */
  vae?: ModelRef | null;
  /** Textual-inversion embeddings the prompts used (hash: A1111's "TI hashes" sha256[0:12]). */
  embeddings?: ModelRef[];
  /** Hires fix: width x height is the first pass; the picture has the hires target's size. Absent: none. */
  hires?: HiresSettings | null;
  /** Regional prompts with their masks (absent in records made before regions, or without any). */
  regions?: RegionRecord[];
  /**
   * The LoRAs each region's prompt names with `<lora:name:weight>` (common/region-loras.ts), resolved to files: one
   * list per entry of `regions`, in the tags' order. Absent when no region names one.
   */
  regionLoras?: { model: ModelRef; weight: number }[][];
}

export interface HistoryEntry {
  id: number;
  jobId: string;
  createdAt: string;
  /** 'done': the picture is on disk. */
  status: string;
  settings: GenerationSettings;
  /** The A1111 `parameters` text written into the PNG. */
  parameters: string;
  /** Where the renderer loads the picture: /images/<id>.png (browser) or hintbrush-image://history/<id>.png. */
  imageUrl: string;
}

export interface HistoryListInput {
  /** Words the prompt (or negative prompt) must contain. */
  query?: string;
  modelId?: number;
  limit: number;
  offset: number;
}

export interface HistoryPage {
  items: HistoryEntry[];
  /** How many match in all (for paging). */
  total: number;
}

export interface ReadSettings {
  prompt: string; // <lora:...> tags taken out into `loras`
  negative: string;
  steps: number;
  cfg: number;
  seed: number;
  width: number;
  height: number;
  clipSkip: number;
  /** Hintbrush's sampler, null when it has none of that name; `samplerA1111` as written. */
  sampler: SamplerName | null;
  samplerA1111: string;
  checkpoint: ReadModel;
  /** `region`: the region the hint was limited to (from the PNG's hintbrush-regions chunk); absent: the whole picture. */
  controls: { kind: ControlKind; model: ReadModel; base: ReadModel | null; weight: number; start: number; end: number; module: string; resizeMode: ResizeModeName; region?: number }[];
  loras: { model: ReadModel; weight: number }[];
  denoisingStrength: number | null;
  /** "VAE" (A1111 writes the file name with its extension) and "VAE hash"; null when the checkpoint's was used. */
  vae?: ReadModel | null;
  /** "TI hashes": the embeddings the prompts used. */
  embeddings?: ReadModel[];
  /** Hires fix settings ("Hires upscale"/"Hires resize", "Hires steps", "Hires upscaler"), null when none. */
  hires: ReadHires | null;
}

export interface PngParameters {
  /** The PNG's `parameters` text; null when it has none. */
  parameters: string | null;
  settings: ReadSettings | null;
  /** Regions from the PNG's hintbrush-regions chunk (absent when it has none). */
  regions?: RegionRecord[];
}

export interface GenerateProgressEvent {
  jobId: string;
  step: number;
  total: number;
  /** The current estimate at latent resolution (1/8 of the size), a small PNG. */
  previewPngBase64?: string;
}

export interface GenerateFinishedEvent {
  jobId: string;
  historyIds: number[];
  /** What was left out and why (an embedding made for another text encoder); absent when nothing was. */
  messages?: string[];
}

/** The URL of a history picture in each mode. */
export function historyImageUrl(id: number, mode: 'electron' | 'browser'): string {
  return mode === 'electron' ? `hintbrush-image://history/${id}.png` : `/images/${id}.png`;
}

// ---- validation -------------------------------------------------------------------------------------

/** Largest picture accepted, in base64 characters (about 24 MiB of PNG). */
export const MAX_IMAGE_CHARS = 32 * 1024 * 1024;
const MAX_PROMPT = 20_000;
const png = (value: unknown, what: string): string => base64(value, what, MAX_IMAGE_CHARS, 'a PNG as base64 text');

function controlUnit(value: unknown, i: number): ControlUnitInput {
  const what = `controls[${i}]`;
  const r = fields(value, what, ['kind', 'model', 'base', 'imagePngBase64', 'weight', 'start', 'end', 'resizeMode', 'layer', 'region']);
  const kind = oneOf(r.kind, `${what}.kind`, CONTROL_KINDS);
  const unit: ControlUnitInput = {
    kind,
    model: model(r.model, `${what}.model`),
    imagePngBase64: png(r.imagePngBase64, `${what}.imagePngBase64`),
    weight: num(r.weight, `${what}.weight`, 0, 2, 1),
    start: num(r.start, `${what}.start`, 0, 1, 0),
    end: num(r.end, `${what}.end`, 0, 1, 1),
    resizeMode: oneOf(r.resizeMode, `${what}.resizeMode`, RESIZE_MODE_NAMES, 'crop-and-resize'),
  };
  if (!(unit.start < unit.end)) throw new ContractError(`${what}: start must be below end`);
  if (r.layer !== undefined) unit.layer = text(r.layer, `${what}.layer`, 200);
  if (r.region !== undefined && r.region !== null) unit.region = int(r.region, `${what}.region`, 0, MAX_REGIONS - 1);
  if (kind === 'ctrlora') unit.base = model(r.base, `${what}.base`);
  else if (r.base !== undefined) throw new ContractError(`${what}: only a CtrLoRA unit takes a base`);
  return unit;
}

const GENERATE_FIELDS = ['checkpoint', 'prompt', 'negative', 'width', 'height', 'steps', 'cfg', 'seed', 'sampler', 'clipSkip', 'controls', 'loras', 'init', 'mask', 'batchSize', 'batchCount', 'hires', 'regions', 'vae'];

/**
 * The denoising steps an img2img run makes: diffusers' (and the engine's, pipeline/generate.ts) init_timestep =
 * int(steps * strength). Zero means the picture would come back as it went in, after a VAE round trip.
 */
export function img2imgStepsRun(steps: number, strength: number): number {
  return Math.min(Math.floor(steps * strength), steps);
}

/** The least strength (in hundredths, as the UI offers it) that runs at least one of `steps` steps. */
export function minimalStrength(steps: number): number {
  let s = Math.ceil((100 / steps) - 1e-9) / 100;
  while (img2imgStepsRun(steps, s) < 1) s = Math.round(s * 100 + 1) / 100;
  return s;
}

export function validateGenerateInput(input: unknown): GenerateInput {
  const r = fields(input, 'generate.start', GENERATE_FIELDS);
  const size = (v: unknown, what: string) => {
    const n = int(v, what, 64, 2048, 512);
    if (n % 8 !== 0) throw new ContractError(`${what} must be a multiple of 8 from 64 to 2048`);
    return n;
  };
  const controls = list(r.controls, 'controls', 8, true).map(controlUnit);
  if (controls.filter((c) => c.kind === 'cnxs').length > 1) throw new ContractError('only one ControlNet-XS unit can steer a generation');
  const loras = list(r.loras, 'loras', 16, true).map((v, i) => {
    const l = fields(v, `loras[${i}]`, ['model', 'weight']);
    return { model: model(l.model, `loras[${i}].model`), weight: num(l.weight, `loras[${i}].weight`, 0, 2, 1) };
  });
  let init: GenerateInput['init'] = null;
  if (r.init !== undefined && r.init !== null) {
    const i = fields(r.init, 'init', ['imagePngBase64', 'strength', 'resizeMode']);
    const strength = num(i.strength, 'init.strength', 0, 1, 0.75);
    if (strength === 0) throw new ContractError('init.strength must be above 0');
    const steps = int(r.steps, 'steps', 1, 150, 20);
    if (img2imgStepsRun(steps, strength) < 1) {
      // refused here, before the engine decodes and encodes the picture only to find nothing to do
      throw new ContractError(`init.strength ${strength} leaves no step to run at ${steps} steps; at ${steps} steps it must be at least ${minimalStrength(steps)}`);
    }
    init = { imagePngBase64: png(i.imagePngBase64, 'init.imagePngBase64'), strength, resizeMode: oneOf(i.resizeMode, 'init.resizeMode', RESIZE_MODE_NAMES, 'just-resize') };
  }
  let mask: GenerateInput['mask'] = null;
  if (r.mask !== undefined && r.mask !== null) {
    if (!init) throw new ContractError('mask needs an init image (inpainting repaints a picture)');
    mask = { imagePngBase64: png(fields(r.mask, 'mask', ['imagePngBase64']).imagePngBase64, 'mask.imagePngBase64') };
  }
  const vae = r.vae === undefined ? {} : { vae: r.vae === null ? null : model(r.vae, 'vae') };
  const width = size(r.width, 'width');
  const height = size(r.height, 'height');
  const steps = int(r.steps, 'steps', 1, 150, 20);
  let hires: HiresInput | null = null;
  if (r.hires !== undefined && r.hires !== null) {
    if (init) throw new ContractError('hires fix is for text-to-image: it cannot start from an init picture or inpaint');
    hires = validateHires(r.hires, width, height, steps);
  }
  const prompt = text(r.prompt, 'prompt', MAX_PROMPT, '');
  const negative = text(r.negative, 'negative', MAX_PROMPT, '');
  for (const [what, value] of [['prompt', prompt], ['negative prompt', negative]] as const) {
    const problem = promptScheduleProblem(value);
    if (problem) throw new ContractError(`The ${what}'s prompt editing does not parse: ${problem.message}`);
  }
  const regions = validateRegions(r.regions);
  checkControlRegions(controls, regions.length);
  return {
    ...(regions.length ? { regions } : {}),
    ...vae,
    checkpoint: model(r.checkpoint, 'checkpoint'),
    prompt,
    negative,
    width,
    height,
    steps,
    cfg: num(r.cfg, 'cfg', 0, 30, 7.5),
    seed: r.seed === undefined || r.seed === null ? null : int(r.seed, 'seed', 0, 2 ** 32 - 1),
    sampler: oneOf(r.sampler, 'sampler', SAMPLER_NAMES, 'euler_a'),
    clipSkip: int(r.clipSkip, 'clipSkip', 1, 2, 1) as 1 | 2,
    controls,
    loras,
    init,
    mask,
    batchSize: int(r.batchSize, 'batchSize', 1, 8, 1),
    batchCount: int(r.batchCount, 'batchCount', 1, 100, 1),
    hires,
  };
}

export function validateHistoryList(input: unknown): HistoryListInput {
  const r = fields(input, 'history.list', ['query', 'modelId', 'limit', 'offset']);
  const out: HistoryListInput = { limit: int(r.limit, 'limit', 1, 500, 50), offset: int(r.offset, 'offset', 0, Number.MAX_SAFE_INTEGER, 0) };
  if (r.query !== undefined) out.query = text(r.query, 'query', 500);
  if (r.modelId !== undefined) out.modelId = int(r.modelId, 'modelId', 0, Number.MAX_SAFE_INTEGER);
  return out;
}

export function validateHistoryId(method: string): (input: unknown) => { id: number } {
  return (input) => ({ id: int(fields(input, method, ['id']).id, 'id', 0, Number.MAX_SAFE_INTEGER) });
}

export function validateReadParameters(input: unknown): { pngBase64: string } {
  return { pngBase64: png(fields(input, 'png.readParameters', ['pngBase64']).pngBase64, 'pngBase64') };
}
