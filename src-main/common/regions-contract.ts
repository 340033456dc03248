// Regional prompts as they cross every boundary: the studio's generate request, the engine payload (inside the
// settings), the history record, and the PNG. A region is a painted grey mask (white = the region, grey = partial
// weight) with its own prompt, an edge softness in pixels and Krita's "append the main prompt" switch.
//
// In the PNG, regions live in their own text chunk (keyword REGIONS_PNG_KEYWORD, JSON with the masks as base64
// PNGs) beside A1111's `parameters`, which stays as A1111 writes it: A1111 and other readers ignore chunks they do
// not know, and Hintbrush reads the regions back from it. Pure module: no Node, Electron or DOM imports.

import { ContractError } from './errors.ts';
import { fields, num, text } from './field-validators.ts';

/** At most this many regions per generation: each one adds a text attention at every cross-attention layer. */
export const MAX_REGIONS = 8;
/** Edge softness is a Gaussian blur of feather/3 pixels' deviation (engine/pipeline/region-masks.ts). */
export const MAX_FEATHER = 256;
const MAX_PROMPT = 20_000;
const MAX_MASK_CHARS = 8 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** One region; the same shape in requests, settings and the PNG. */
export interface RegionRecord {
  /** Grey (or RGB, read as luma) PNG, base64; resized to the generation size when it differs. */
  maskPngBase64: string;
  prompt: string;
  /** Edge softness in pixels, 0..MAX_FEATHER. */
  feather: number;
  /** The region's text becomes "region prompt, main prompt". */
  appendMain: boolean;
}

export const REGION_FIELDS = ['maskPngBase64', 'prompt', 'feather', 'appendMain'] as const;

/** One region, every field checked; errors name the field (`regions[1].feather ...`). */
export function validateRegion(value: unknown, what: string): RegionRecord {
  const r = fields(value, what, REGION_FIELDS);
  const mask = r.maskPngBase64;
  if (typeof mask !== 'string' || mask.length === 0 || mask.length > MAX_MASK_CHARS || mask.length % 4 !== 0 || !BASE64.test(mask)) {
    throw new ContractError(`${what}.maskPngBase64 must be a PNG as base64 text of at most ${MAX_MASK_CHARS} characters`);
  }
  if (r.appendMain !== undefined && typeof r.appendMain !== 'boolean') throw new ContractError(`${what}.appendMain must be true or false`);
  return {
    maskPngBase64: mask,
    prompt: text(r.prompt, `${what}.prompt`, MAX_PROMPT),
    feather: num(r.feather, `${what}.feather`, 0, MAX_FEATHER, 0),
    appendMain: r.appendMain === true,
  };
}

/** A list of regions (absent: none), at most MAX_REGIONS. */
export function validateRegions(value: unknown, what = 'regions'): RegionRecord[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ContractError(`${what} must be a list of regions`);
  if (value.length > MAX_REGIONS) throw new ContractError(`${what}: ${value.length} regions, at most ${MAX_REGIONS} can steer a generation`);
  return value.map((v, i) => validateRegion(v, `${what}[${i}]`));
}

/** The PNG text chunk that carries a picture's regions. */
export const REGIONS_PNG_KEYWORD = 'hintbrush-regions';

/**
 * The chunk's JSON. Version 1: `{version: 1, regions}`. Version 2, written only when a hint is tied to a region
 * (so a picture without ties stays readable by a Hintbrush that knows only version 1): each region may add
 * `hints`, the names of its hints as the `parameters` text gives them ("ControlNet 0"; control-regions.ts).
 */
export function regionsToPngText(regions: readonly RegionRecord[], hints: readonly (readonly string[])[] = []): string {
  if (!hints.some((h) => h.length > 0)) return JSON.stringify({ version: 1, regions });
  return JSON.stringify({ version: 2, regions: regions.map((r, i) => (hints[i]?.length ? { ...r, hints: hints[i] } : r)) });
}

/** Regions from a PNG's chunk text; a chunk that is not what Hintbrush writes is a ContractError naming why. */
export function regionsFromPngText(textValue: string): RegionRecord[] {
  return regionChunkFromPngText(textValue).regions;
}

const MAX_HINT_NAME = 40;
/** A request holds at most 8 control units (generation-contract.ts). */
const MAX_HINTS = 8;

/** The regions and, per region, the names of the hints tied to it (empty lists in a version 1 chunk). */
export function regionChunkFromPngText(textValue: string): { regions: RegionRecord[]; hints: string[][] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textValue);
  } catch {
    throw new ContractError(`the PNG's ${REGIONS_PNG_KEYWORD} text is not JSON`);
  }
  const r = fields(parsed, REGIONS_PNG_KEYWORD, ['version', 'regions']);
  const what = `${REGIONS_PNG_KEYWORD}.regions`;
  if (r.version === 1) {
    const regions = validateRegions(r.regions, what);
    return { regions, hints: regions.map(() => []) };
  }
  if (r.version !== 2) throw new ContractError(`${REGIONS_PNG_KEYWORD}: version ${JSON.stringify(r.version)} is not one this Hintbrush reads`);
  if (!Array.isArray(r.regions) || r.regions.length > MAX_REGIONS) throw new ContractError(`${what} must be a list of at most ${MAX_REGIONS} regions`);
  const hints: string[][] = [];
  const plain = r.regions.map((v: unknown, i) => {
    const entry = fields(v, `${what}[${i}]`, [...REGION_FIELDS, 'hints']);
    const { hints: names, ...region } = entry;
    const list = names === undefined ? [] : names;
    if (!Array.isArray(list) || list.length > MAX_HINTS || !list.every((n) => typeof n === 'string' && n.length > 0 && n.length <= MAX_HINT_NAME)) {
      throw new ContractError(`${what}[${i}].hints must be a list of hint names such as "ControlNet 0"`);
    }
    hints.push(list as string[]);
    return region;
  });
  return { regions: validateRegions(plain, what), hints };
}
