// Hints tied to a region (common/control-regions.ts): a ControlNet or CtrLoRA unit whose `region` names one of the
// generation's regions has each of its residuals multiplied by that region's feathered mask, area-averaged to the
// residual's resolution. The mask is the region's own plane (1 inside, 0 outside, the feather between), not the
// weight it gets after normalising against the other regions: a hint tied to a region steers all of it, also
// where another region overlaps. Both CFG rows are masked alike, as both get the control. A ControlNet-XS has no
// residuals of its own; the same pooled planes mask each of its infusions into the UNet (models/cnxs.ts).
//
// Ownership: the masks are the generation's (feathered-regions.ts, one per region and pass: a hires pass brings
// its own at its size), shared with the regions' LoRAs; read by every step, each pooled size kept by its mask.

import { GenerateError } from './generate-errors.ts';
import type { RegionMask } from './feathered-regions.ts';
import type { RegionRequest } from './regions.ts';

interface TiedUnit {
  kind: 'controlnet' | 'ctrlora' | 'cnxs';
  path: string;
  region?: number | null;
}

export interface UnitRegions<U> {
  /** The units that run: all but those tied to a region whose mask is empty. */
  units: U[];
  /** The mask of each tied unit that runs. */
  masks: Map<U, RegionMask>;
  /** One sentence per unit left out. */
  messages: string[];
}

const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/**
 * The masks of the units tied to a region (a ControlNet-XS's too: model-runtime.ts cnxsUnet masks its infusions),
 * taken from `masks`, the regions' feathered masks indexed as `regions` (null: empty). A tie to a region that does
 * not exist is a 'bad-request' naming the field; a unit tied to a region whose mask is empty (a region the regional
 * prompting skips too) is left out and named.
 */
export function unitRegions<U extends TiedUnit>(units: readonly U[], regions: readonly RegionRequest[], masks: readonly (RegionMask | null)[]): UnitRegions<U> {
  if (masks.length !== regions.length) throw new RangeError(`${masks.length} region masks for ${regions.length} regions`);
  const out: UnitRegions<U> = { units: [], masks: new Map(), messages: [] };
  units.forEach((unit, i) => {
    const r = unit.region;
    if (r === undefined || r === null) {
      out.units.push(unit);
      return;
    }
    const at = `controls[${i}].region`;
    if (!Number.isInteger(r) || r < 0 || r >= regions.length) {
      throw new GenerateError('bad-request', `${at} ${r} names no region: the generation has ${regions.length === 0 ? 'none' : `${regions.length} (0 to ${regions.length - 1})`}`);
    }
    const mask = masks[r];
    if (!mask) {
      const prompt = JSON.stringify(regions[r].prompt.slice(0, 40));
      out.messages.push(`hint ${i + 1} (${fileName(unit.path)}) is tied to region ${r + 1} (${prompt}), whose mask is empty: the hint is skipped`);
      return;
    }
    out.units.push(unit);
    out.masks.set(unit, mask);
  });
  return out;
}
