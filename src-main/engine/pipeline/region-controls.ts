// Hints tied to a region (common/control-regions.ts): a ControlNet or CtrLoRA unit whose `region` names one of the
// generation's regions has each of its residuals multiplied by that region's feathered mask, area-averaged to the
// residual's resolution. The mask is the region's own plane (1 inside, 0 outside, the feather between), not the
// weight it gets after normalising against the other regions: a hint tied to a region steers all of it, also
// where another region overlaps. Both CFG rows are masked alike, as both get the control. A ControlNet-XS has no
// residuals of its own; the same pooled planes mask each of its infusions into the UNet (models/cnxs.ts).
//
// Ownership: made per generation by PreparedControls.prepare (one per pass: a hires pass brings its own masks at
// its size) and read by every step; pooled planes are kept per residual size.

import { GenerateError } from './generate-errors.ts';
import { areaAverage, featherPlane, isEmptyPlane, type Plane } from './region-masks.ts';
import type { RegionRequest } from './regions.ts';

/** One region's feathered mask at the generation's pixel size, pooled on demand to each residual size. */
export class RegionMask {
  private readonly pooled = new Map<string, Float32Array>();

  constructor(readonly plane: Plane) {}

  /** The mask area-averaged to h x w (region-masks.ts's pooling, as the regional attention's weights are). */
  at(h: number, w: number): Float32Array {
    const key = `${h}x${w}`;
    let out = this.pooled.get(key);
    if (!out) {
      out = areaAverage(this.plane, h, w);
      this.pooled.set(key, out);
    }
    return out;
  }

  /** `residual` [B, C, h, w] times the mask at h x w, as a new array. */
  apply(residual: Float32Array, shape: readonly number[]): Float32Array {
    const [, , h, w] = shape;
    const m = this.at(h, w);
    const plane = h * w;
    if (residual.length % plane !== 0) throw new RangeError(`control residual of ${residual.length} values is not [B, C, ${h}, ${w}]`);
    const out = new Float32Array(residual.length);
    for (let i = 0; i < residual.length; i++) out[i] = residual[i] * m[i % plane];
    return out;
  }
}

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
 * The masks of the units tied to a region (a ControlNet-XS's too: model-runtime.ts cnxsUnet masks its infusions).
 * A tie to a region that does not exist is a 'bad-request' naming the field; a unit tied to a region whose mask is empty (a region the regional prompting
 * skips too) is left out and named.
 */
export function unitRegions<U extends TiedUnit>(units: readonly U[], regions: readonly RegionRequest[]): UnitRegions<U> {
  const out: UnitRegions<U> = { units: [], masks: new Map(), messages: [] };
  const feathered = new Map<number, RegionMask | null>();
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
    if (!feathered.has(r)) {
      const region = regions[r];
      const [, , h, w] = region.mask.shape;
      const plane: Plane = { width: w, height: h, data: region.mask.data };
      feathered.set(r, isEmptyPlane(plane) ? null : new RegionMask(featherPlane(plane, region.feather)));
    }
    const mask = feathered.get(r)!;
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
