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

export function regionsToPngText(regions: readonly RegionRecord[]): string {
  return JSON.stringify({ version: 1, regions });
}

/** Regions from a PNG's chunk text; a chunk that is not what Hintbrush writes is a ContractError naming why. */
export function regionsFromPngText(textValue: string): RegionRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textValue);
  } catch {
    throw new ContractError(`the PNG's ${REGIONS_PNG_KEYWORD} text is not JSON`);
  }
  const r = fields(parsed, REGIONS_PNG_KEYWORD, ['version', 'regions']);
  if (r.version !== 1) throw new ContractError(`${REGIONS_PNG_KEYWORD}: version ${JSON.stringify(r.version)} is not one this Hintbrush reads`);
  return validateRegions(r.regions, `${REGIONS_PNG_KEYWORD}.regions`);
}
