// The region ties of a 'generate' payload's control units (settings.controls[i].region, an index into
// settings.regions), fitted to the regions that run: prepareRegions leaves empty regions out, so a tie is
// renumbered to the kept list, and a unit tied to a left-out region is left out too, with a note. The records
// returned are what the run used: the history and the PNG see the same units and indices as the engine.

import type { ControlRecord } from '../../common/generation-contract.ts';
import { TaskError } from '../protocol.ts';

export interface TiedControls {
  /** The units that run, each with its index in the payload (its picture) and its record, region renumbered. */
  units: { index: number; record: ControlRecord }[];
  notes: string[];
}

const fileName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/**
 * `controls` are the payload's, `regionCount` the payload's regions (before empty ones were left out), `kept` the
 * payload index of each region that runs (PreparedRegions.kept). A tie to no region is a
 * 'bad-request' naming the field.
 */
export function tieControlsToRegions(controls: readonly ControlRecord[], regionCount: number, kept: readonly number[], prompts: readonly string[] = []): TiedControls {
  const out: TiedControls = { units: [], notes: [] };
  controls.forEach((c, index) => {
    const r = c.region;
    const { region: _, ...record } = c;
    if (r === undefined || r === null) {
      out.units.push({ index, record });
      return;
    }
    const at = `generate: settings.controls[${index}].region`;
    if (!Number.isInteger(r) || r < 0 || r >= regionCount) {
      throw new TaskError('bad-request', `${at} ${JSON.stringify(r)} names no region: the settings have ${regionCount}`);
    }
    const renumbered = kept.indexOf(r);
    if (renumbered < 0) {
      const prompt = prompts[r] === undefined ? '' : ` (${JSON.stringify(prompts[r].slice(0, 40))})`;
      out.notes.push(`hint ${index + 1} (${fileName(c.model.path ?? c.model.name)}) is tied to region ${r + 1}${prompt}, which is skipped: the hint is skipped too`);
      return;
    }
    out.units.push({ index, record: { ...record, region: renumbered } });
  });
  return out;
}
