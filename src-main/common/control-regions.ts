// Hints tied to a region: a ControlNet, CtrLoRA or ControlNet-XS unit whose `region` names one of the same
// generation's regions steers only there. The engine multiplies the unit's residuals by that region's feathered
// mask (1 inside, 0 outside, the feather between; not normalised against the other regions), area-averaged to each
// residual's resolution (engine/pipeline/region-controls.ts); a ControlNet-XS, fused into the UNet, has no residuals
// of its own, so each of its infusions into the UNet is masked instead (engine/models/cnxs.ts).
//
// In the PNG the tie lives in the hintbrush-regions chunk (regions-contract.ts), each region listing its hints by
// the names A1111's `parameters` text gives them ("ControlNet 0", "CtrLoRA 1"): the reader of the text lists
// ControlNets before the other kinds, so a position in the list would not survive the round trip, a name does.
// Pure module: no Node, Electron or DOM imports.

import { ContractError } from './errors.ts';

/** Shown where a hint layer's region is chosen. */
export const HINT_REGION_EXPLANATION = 'Tied to a region, the hint steers only where that region is painted (fading over its soft edge); elsewhere it has no effect.';

interface TiedUnit {
  kind: string;
  region?: number | null;
}

/** Every unit's region names one of `regionCount` regions; errors name the field. */
export function checkControlRegions(controls: readonly TiedUnit[], regionCount: number, what = 'controls'): void {
  controls.forEach((c, i) => {
    if (c.region === undefined || c.region === null) return;
    const at = `${what}[${i}].region`;
    if (!Number.isInteger(c.region) || c.region < 0) throw new ContractError(`${at} must be a region's index (an integer from 0)`);
    if (c.region >= regionCount) {
      throw new ContractError(`${at} ${c.region} names no region: the request has ${regionCount === 0 ? 'none' : `${regionCount} (0 to ${regionCount - 1})`}`);
    }
  });
}

const KIND_LABELS: Record<string, string> = { controlnet: 'ControlNet', ctrlora: 'CtrLoRA', cnxs: 'ControlNet-XS' };

/** Each unit's name in A1111's `parameters` text ("ControlNet 0", "CtrLoRA 0"...): its kind and its place among that kind. */
export function controlLabels(controls: readonly { kind: string }[]): string[] {
  const counts = new Map<string, number>();
  return controls.map((c) => {
    const n = counts.get(c.kind) ?? 0;
    counts.set(c.kind, n + 1);
    return `${KIND_LABELS[c.kind] ?? c.kind} ${n}`;
  });
}

/** For the PNG: per region, the names of the hints tied to it (all lists empty when none is tied). */
export function regionHintLabels(controls: readonly TiedUnit[], regionCount: number): string[][] {
  const labels = controlLabels(controls);
  const out: string[][] = Array.from({ length: regionCount }, () => []);
  controls.forEach((c, i) => {
    if (c.region !== undefined && c.region !== null && c.region < regionCount) out[c.region].push(labels[i]);
  });
  return out;
}

/** From the PNG: the controls read from the `parameters` text, each given the region whose hint list names it. */
export function withRegionHints<T extends { kind: string }>(controls: readonly T[], hints: readonly (readonly string[])[]): (T & { region?: number })[] {
  const labels = controlLabels(controls);
  return controls.map((c, i) => {
    const region = hints.findIndex((names) => names.includes(labels[i]));
    return region >= 0 ? { ...c, region } : { ...c };
  });
}
