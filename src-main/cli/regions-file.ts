// `hintbrush generate --regions FILE.json`: a JSON array of {"mask": "PNG", "prompt": "TEXT", "feather": PX,
// "appendMain": false}, mask paths relative to the JSON file (white = the region, grey = partial weight). Everything
// is checked before the engine starts, so bad input changes nothing: the first wrong field is named, a missing or
// unreadable mask names its file, an empty mask is skipped with a note naming the region. A mask of another size
// is resized by the engine, which notes it (engine/tasks/region-payload.ts). A prompt may tie LoRAs to its region
// with `<lora:name:weight>`; the names are looked up in the --lora-dir folders (cli/file-model-resolver.ts).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_FEATHER, MAX_REGIONS, type RegionRecord } from '../common/regions-contract.ts';
import { toGrey, toRgb } from '../generation/image-resize.ts';
import { decodePng } from '../formats/png.ts';

const FIELDS = ['mask', 'prompt', 'feather', 'appendMain'];

function bad(file: string, message: string): Error {
  return Object.assign(new Error(`${file}: ${message}`), { kind: 'bad-request' });
}

/** The regions of a regions file, masks as base64 PNG bytes; `note` hears about skipped regions. */
export function readRegionsFile(file: string, note: (line: string) => void): RegionRecord[] {
  return readRegionsFileIndexed(file, note).regions;
}

export interface RegionsFileContents {
  regions: RegionRecord[];
  /** Each returned region's index in the file (a skipped one shifts those after it). */
  fileIndex: number[];
  /** How many regions the file lists, skipped ones included (what a hint's `region=N` counts). */
  fileCount: number;
}

/** readRegionsFile, with where each region stands in the file (hints name regions by that place). */
export function readRegionsFileIndexed(file: string, note: (line: string) => void): RegionsFileContents {
  const full = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw bad(full, `cannot read the regions file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad(full, `not JSON (${(err as Error).message})`);
  }
  const shape = 'a JSON array of {"mask": "PNG", "prompt": "TEXT", "feather": PX, "appendMain": false}';
  if (!Array.isArray(parsed)) throw bad(full, `must be ${shape}`);
  if (parsed.length > MAX_REGIONS) throw bad(full, `${parsed.length} regions; at most ${MAX_REGIONS} can steer a generation`);
  const regions: RegionRecord[] = [];
  const fileIndex: number[] = [];
  parsed.forEach((entry: unknown, i) => {
    const at = `region [${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw bad(full, `${at} must be an object, ${shape}`);
    const r = entry as Record<string, unknown>;
    const extra = Object.keys(r).find((k) => !FIELDS.includes(k));
    if (extra) throw bad(full, `${at}: unknown field ${JSON.stringify(extra).slice(0, 60)} (known: ${FIELDS.join(', ')})`);
    if (typeof r.mask !== 'string' || r.mask === '') throw bad(full, `${at}.mask must be the path of a PNG`);
    if (typeof r.prompt !== 'string') throw bad(full, `${at}.prompt must be text`);
    const feather = r.feather ?? 0;
    if (typeof feather !== 'number' || !Number.isFinite(feather) || feather < 0 || feather > MAX_FEATHER) {
      throw bad(full, `${at}.feather must be a number of pixels from 0 to ${MAX_FEATHER}`);
    }
    if (r.appendMain !== undefined && typeof r.appendMain !== 'boolean') throw bad(full, `${at}.appendMain must be true or false`);
    const maskFile = path.resolve(path.dirname(full), r.mask);
    let bytes: Buffer;
    try {
      bytes = readFileSync(maskFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw bad(full, `${at}.mask ${maskFile} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`}`);
    }
    let empty: boolean;
    try {
      // read as the engine reads it (region-payload.ts): luma of the RGB, alpha ignored
      empty = !toGrey(toRgb(decodePng(bytes, { source: maskFile, maxPixels: 8192 * 8192 }))).data.some((v) => v > 0);
    } catch (err) {
      throw bad(full, `${at}.mask is not a readable PNG: ${(err as Error).message}`);
    }
    if (empty) {
      note(`region [${i}] (${JSON.stringify(r.prompt.slice(0, 40))}): its mask ${maskFile} is empty (all black), so the region is skipped`);
      return;
    }
    regions.push({ maskPngBase64: bytes.toString('base64'), prompt: r.prompt, feather, appendMain: r.appendMain === true });
    fileIndex.push(i);
  });
  return { regions, fileIndex, fileCount: parsed.length };
}
