// The control units of one generation. Classic ControlNets and CtrLoRA conditions each produce 13 residuals
// (already x weight) that are summed into the UNet's residual inputs; a ControlNet-XS cannot be a separate
// pass (it exchanges features with the UNet at every block), so when one is active the fused UNet+XS graph
// replaces the plain UNet for that step. Each unit has its own image, weight and start/end fraction of the
// steps (diffusers' control_guidance_start/end: a unit runs at step i when i/n >= start and (i+1)/n <= end).
// A unit may be tied to a region: its residuals (a ControlNet-XS: its infusions into the UNet) are then masked by
// it (region-controls.ts).

import { GenerateError } from './generate-errors.ts';
import { batchOf } from './conditioning.ts';
import type { LoraUse, ModelRuntime, RegionFeeds, Tensor32 } from './model-runtime.ts';
import { controlShapes } from '../models/unet.ts';
import type { UnetConfig } from '../models/unet-config.ts';
import type { RegionMask } from './feathered-regions.ts';
import { unitRegions } from './region-controls.ts';
import type { RegionRequest } from './regions.ts';

interface UnitBase {
  /** Control image [1, 3, H, W] in [0, 1] at the generation size. */
  image: Tensor32;
  weight: number;
  start: number; // fraction of the steps, 0..1
  end: number;
  /** Index into the generation's regions whose feathered mask limits this unit; absent or null: the whole picture. */
  region?: number | null;
}

export interface ControlNetUnit extends UnitBase {
  kind: 'controlnet';
  path: string;
}

/** A CtrLoRA condition: the Base ControlNet `base` run with the condition LoRA `path`. */
export interface CtrLoraUnit extends UnitBase {
  kind: 'ctrlora';
  base: string;
  path: string;
}

export interface CnxsUnit extends UnitBase {
  kind: 'cnxs';
  path: string;
}

export type ControlUnit = ControlNetUnit | CtrLoraUnit | CnxsUnit;

export function activeAt(unit: { start: number; end: number }, stepIndex: number, steps: number): boolean {
  return !(stepIndex / steps < unit.start || (stepIndex + 1) / steps > unit.end);
}

/** Per-generation inputs of each unit, batched for the two CFG branches (both branches get the control). */
export class PreparedControls {
  private constructor(
    readonly units: readonly ControlUnit[],
    private readonly inputs: Map<ControlUnit, Tensor32>,
    private readonly masks: Map<ControlUnit, RegionMask>,
    /** The UNet's layout, for the residuals' shapes (only when a unit is masked). */
    private readonly unet: UnetConfig | null,
    /** Units left out (tied to an empty region), one sentence each. */
    readonly messages: readonly string[],
  ) {}

  /**
   * CtrLoRA conditions go through the VAE encoder once, from RGB in [0, 1] as the authors feed it. `regions` are
   * the generation's (what a unit's `region` indexes) and `regionMasks` their feathered masks (feathered-regions.ts, the
   * ones the regions' LoRAs use), indexed alike; a unit tied to an empty one is left out, with a message.
   */
  static async prepare(
    runtime: ModelRuntime,
    checkpoint: string,
    all: readonly ControlUnit[],
    regions: readonly RegionRequest[] = [],
    regionMasks: readonly (RegionMask | null)[] = [],
  ): Promise<PreparedControls> {
    if (all.filter((u) => u.kind === 'cnxs').length > 1) {
      throw new GenerateError('bad-request', 'only one ControlNet-XS can steer a generation (it is fused into the UNet)');
    }
    const { units, masks, messages } = unitRegions(all, regions, regionMasks);
    const inputs = new Map<ControlUnit, Tensor32>();
    for (const unit of units) {
      if (!(unit.end > unit.start) || unit.start < 0 || unit.end > 1) {
        throw new GenerateError('bad-request', `control start/end ${unit.start}..${unit.end} must satisfy 0 <= start < end <= 1`);
      }
      const input = unit.kind === 'ctrlora' ? await runtime.vaeEncode(checkpoint, unit.image) : unit.image;
      inputs.set(unit, batchOf([input, input]));
    }
    return new PreparedControls(units, inputs, masks, masks.size ? runtime.config(checkpoint).unet : null, messages);
  }

  /** Sum of the active residual units (ControlNet, CtrLoRA), or null when none is active. */
  async residuals(
    runtime: ModelRuntime,
    sample: Tensor32,
    timestep: Float32Array,
    context: Tensor32,
    stepIndex: number,
    steps: number,
    regions: RegionFeeds | null = null,
  ): Promise<Float32Array[] | null> {
    let sum: Float32Array[] | null = null;
    for (const unit of this.units) {
      if (unit.kind === 'cnxs' || !activeAt(unit, stepIndex, steps) || unit.weight === 0) continue;
      const input = this.inputs.get(unit)!;
      let residuals =
        unit.kind === 'controlnet'
          ? await runtime.controlNet(unit.path, sample, timestep, context, input, unit.weight, regions)
          : await runtime.ctrLora(unit.base, unit.path, input, timestep, context, unit.weight, regions);
      const mask = this.masks.get(unit);
      if (mask) {
        const [b, , h, w] = sample.shape;
        const shapes = controlShapes(this.unet!, b, h, w); // [B, C_i, h_i, w_i], as the UNet takes them
        residuals = residuals.map((r, i) => mask.apply(r, shapes[i]));
      }
      if (!sum) sum = residuals.map((r) => Float32Array.from(r));
      else residuals.forEach((r, i) => r.forEach((v, j) => (sum![i][j] += v)));
    }
    return sum;
  }

  /** Noise prediction of the UNet for one step: fused with the ControlNet-XS when one is active. */
  async eps(
    runtime: ModelRuntime,
    checkpoint: string,
    sample: Tensor32,
    timestep: Float32Array,
    context: Tensor32,
    loras: readonly LoraUse[],
    stepIndex: number,
    steps: number,
    regions: RegionFeeds | null = null,
  ): Promise<Float32Array> {
    const control = await this.residuals(runtime, sample, timestep, context, stepIndex, steps, regions);
    const xs = this.units.find((u): u is CnxsUnit => u.kind === 'cnxs' && activeAt(u, stepIndex, steps));
    if (xs) return runtime.cnxsUnet(checkpoint, xs.path, sample, timestep, context, this.inputs.get(xs)!, xs.weight, control, loras, regions, this.masks.get(xs) ?? null);
    return runtime.unet(checkpoint, sample, timestep, context, control, loras, regions);
  }
}
