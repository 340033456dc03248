// The control units of one generation, summed into the UNet's 13 residual inputs at every step. Each unit has
// its own image, weight and start/end fraction of the steps (diffusers' control_guidance_start/end: a unit
// runs at step i when i/n >= start and (i+1)/n <= end). Classic ControlNets run here; CtrLoRA conditions and
// ControlNet-XS plug in as further unit kinds.

import type { ModelRuntime, Tensor32 } from './model-runtime.ts';

export interface ControlNetUnit {
  kind: 'controlnet';
  path: string;
  /** Control image [1, 3, H, W] in [0, 1] at the generation size. */
  image: Tensor32;
  weight: number;
  start: number; // fraction of the steps, 0..1
  end: number;
}

export type ControlUnit = ControlNetUnit;

export function activeAt(unit: { start: number; end: number }, stepIndex: number, steps: number): boolean {
  return !(stepIndex / steps < unit.start || (stepIndex + 1) / steps > unit.end);
}

/** Sum of the active units' residuals, or null when none is active (the plain UNet graph runs then). */
export async function controlResiduals(
  runtime: ModelRuntime,
  units: readonly ControlUnit[],
  hints: ReadonlyMap<ControlUnit, Tensor32>,
  sample: Tensor32,
  timestep: Float32Array,
  context: Tensor32,
  stepIndex: number,
  steps: number,
): Promise<Float32Array[] | null> {
  let sum: Float32Array[] | null = null;
  for (const unit of units) {
    if (!activeAt(unit, stepIndex, steps) || unit.weight === 0) continue;
    const residuals = await runtime.controlNet(unit.path, sample, timestep, context, hints.get(unit)!, unit.weight);
    if (!sum) sum = residuals.map((r) => Float32Array.from(r));
    else residuals.forEach((r, i) => r.forEach((v, j) => (sum![i][j] += v)));
  }
  return sum;
}
