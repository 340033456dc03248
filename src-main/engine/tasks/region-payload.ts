// The regions of a 'generate' payload (settings.regions, masks as base64 PNGs) turned into the pipeline's
// RegionRequests at the generation size, each with the LoRAs its prompt's tags resolved to (settings.regionLoras).
// A mask of another size is resized (just-resize, as the inpainting mask is) and a note says so; the mask is then recorded as the grey PNG at the generation size that was actually
// used, so history, PNG metadata and a later reopen all see the same weights.

import type { GenerationSettings } from '../../common/generation-contract.ts';
import { validateRegions, type RegionRecord } from '../../common/regions-contract.ts';
import { decodePng, encodePng } from '../../formats/png.ts';
import { resizeImage, toGrey, toRgb } from '../../generation/image-resize.ts';
import type { RegionRequest } from '../pipeline/regions.ts';
import { TaskError } from '../protocol.ts';

export interface PreparedRegions {
  requests: RegionRequest[];
  /** The regions as recorded: each mask the grey PNG at the generation size. */
  records: RegionRecord[];
  /** The resolved LoRAs of each recorded region (settings.regionLoras without the skipped regions' lists). */
  recordLoras: ResolvedLoras[];
  /** For each kept region, its index in the payload's list (empty ones are left out, so the two can differ). */
  kept: number[];
  notes: string[];
}

type ResolvedLoras = NonNullable<GenerationSettings['regionLoras']>[number];

/** Checks the payload's regions (a broken one is a 'bad-request' naming the field) and decodes their masks. */
export function prepareRegions(raw: unknown, width: number, height: number, regionLoras: GenerationSettings['regionLoras'] = undefined): PreparedRegions {
  let regions: RegionRecord[];
  try {
    regions = validateRegions(raw, 'settings.regions');
  } catch (err) {
    throw new TaskError('bad-request', `generate: ${(err as Error).message}`);
  }
  if (regionLoras !== undefined && (!Array.isArray(regionLoras) || regionLoras.length !== regions.length || !regionLoras.every(Array.isArray))) {
    throw new TaskError('bad-request', `generate: settings.regionLoras must hold one list of LoRAs per region (${regions.length})`);
  }
  const out: PreparedRegions = { requests: [], records: [], recordLoras: [], kept: [], notes: [] };
  regions.forEach((region, i) => {
    const what = `region ${i + 1} (${JSON.stringify(region.prompt.slice(0, 40))}) mask`;
    let grey;
    try {
      grey = toGrey(toRgb(decodePng(Buffer.from(region.maskPngBase64, 'base64'), { source: what, maxPixels: 8192 * 8192 })));
    } catch (err) {
      throw new TaskError('bad-image', (err as Error).message);
    }
    if (!grey.data.some((v) => v > 0)) {
      out.notes.push(`${what} is empty (all black): region skipped`);
      return;
    }
    if (grey.width !== width || grey.height !== height) {
      out.notes.push(`${what} is ${grey.width}x${grey.height}; resized to ${width}x${height}`);
      grey = resizeImage(grey, 'just-resize', width, height);
    }
    const png = Buffer.from(encodePng({ width, height, channels: 1, data: grey.data })).toString('base64');
    const loras = regionLoras?.[i] ?? [];
    out.records.push({ ...region, maskPngBase64: png });
    out.recordLoras.push(loras);
    out.kept.push(i);
    out.requests.push({
      mask: { shape: [1, 1, height, width], data: Float32Array.from(grey.data, (v) => v / 255) },
      prompt: region.prompt, // its <lora:...> tags are taken out where it is encoded (regions.ts regionText)
      feather: region.feather,
      appendMain: region.appendMain,
      loras: loras.map((l) => ({ path: l.model.path, strength: l.weight })),
    });
  });
  return out;
}
