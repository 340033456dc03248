// Each region's feathered mask, made once per generation and shared by everything that places work on a region:
// its LoRAs (regions.ts, the region-LoRA mask inputs) and the hints tied to it (region-controls.ts: ControlNet and
// CtrLoRA residuals, a ControlNet-XS's infusions). The mask is the region's own plane (1 inside, 0 outside, the
// feather between), not the weight it gets after normalising against the other regions (region-masks.ts
// normaliseWeights, which the regional attention mixes with).
//
// Ownership: featherRegions runs once per sampling pass (generate.ts sampleLatents), after the requests are checked;
// a hires pass is a pass of its own, with its regions resized to its size (hires-fix.ts), so it feathers its own.
// A RegionMask keeps each pooled size it was asked for, so each size is averaged once whoever asks.

import { MAX_REGIONS } from '../../common/regions-contract.ts';
import { GenerateError } from './generate-errors.ts';
import { areaAverage, featherPlane, isEmptyPlane, type Plane } from './region-masks.ts';

/** One region's feathered mask at the generation's pixel size, pooled on demand to each size asked for. */
export class RegionMask {
  private readonly pooled = new Map<string, Float32Array>();

  private constructor(readonly plane: Plane) {}

  /** The region's painted plane feathered by `feather` pixels (region-masks.ts featherPlane): its one blur. */
  static feathered(plane: Plane, feather: number): RegionMask {
    return new RegionMask(featherPlane(plane, feather));
  }

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

/** What featherRegions reads of a region request (regions.ts RegionRequest). */
export interface PaintedRegion {
  /** [1, 1, H, W] in [0, 1]. */
  mask: { shape: readonly number[]; data: Float32Array };
  /** Edge softness in pixels. */
  feather: number;
}

/**
 * The feathered mask of each region, indexed as `regions` are; null for a region whose mask is empty (regional
 * prompting skips it, a hint tied to it is left out). A mask of another size than the generation's, a feather out
 * of 0..256 pixels or more than MAX_REGIONS regions is a 'bad-request' naming the region.
 */
export function featherRegions(regions: readonly PaintedRegion[], width: number, height: number): (RegionMask | null)[] {
  if (regions.length > MAX_REGIONS) throw new GenerateError('bad-request', `${regions.length} regions: at most ${MAX_REGIONS} can steer a generation`);
  return regions.map((region, i) => {
    const [, , h, w] = region.mask.shape;
    if (h !== height || w !== width) throw new GenerateError('bad-request', `region ${i + 1}: mask is ${w}x${h}, the generation ${width}x${height}`);
    if (!(region.feather >= 0 && region.feather <= 256)) throw new GenerateError('bad-request', `region ${i + 1}: feather ${region.feather} must be from 0 to 256 pixels`);
    const plane: Plane = { width: w, height: h, data: region.mask.data };
    return isEmptyPlane(plane) ? null : RegionMask.feathered(plane, region.feather);
  });
}
