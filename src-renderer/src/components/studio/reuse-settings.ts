// "Use these settings": a history entry's settings, or those read from a dropped A1111 PNG, put back into the
// open document as one undo step: prompt, negative prompt, sampler, steps, CFG, seed (locked), checkpoint and
// LoRAs (when the library has them), and each control's weight and step range onto the hint layer bound to
// the same model. The size goes to the generate panel. Returns what could not be matched, to say so.
import type { GenerationSettings as UsedSettings, ReadSettings } from '../../../../src-main/common/generation-contract.ts';
import type { HintLayer } from '../../../../src-main/common/document/model.ts';
import type { Studio } from './studio.svelte.ts';

export interface ReusableSettings {
  prompt: string;
  negative: string;
  sampler: string | null;
  steps: number;
  cfg: number;
  seed: number;
  width: number;
  height: number;
  checkpointId: number | null;
  checkpointName: string;
  loras: { id: number | null; name: string; weight: number }[];
  controls: { kind: string; id: number | null; name: string; base: string | null; weight: number; start: number; end: number }[];
}

/** The settings of a history entry, or those read from a dropped PNG (the same fields, resolved against the library). */
export function reusableSettings(s: UsedSettings | ReadSettings): ReusableSettings {
  return {
    prompt: s.prompt,
    negative: s.negative,
    sampler: s.sampler,
    steps: s.steps,
    cfg: s.cfg,
    seed: s.seed,
    width: s.width,
    height: s.height,
    checkpointId: s.checkpoint.id,
    checkpointName: s.checkpoint.name,
    loras: s.loras.map((l) => ({ id: l.model.id, name: l.model.name, weight: l.weight })),
    controls: s.controls.map((c) => ({ kind: c.kind, id: c.model.id, name: c.model.name, base: c.base?.name ?? null, weight: c.weight, start: c.start, end: c.end })),
  };
}

/** Applies the settings to the studio's document; returns the names of models it could not place. */
export function reuseSettings(studio: Studio, s: ReusableSettings): string[] {
  const { store, generation } = studio;
  const doc = store.state.doc;
  if (!doc) return [];
  const missing: string[] = [];
  const known = (id: number | null) => id !== null && studio.app.library.items.some((i) => i.id === id);
  store.transact('Use these settings', () => {
    const loras = s.loras.filter((l) => known(l.id)).map((l) => ({ modelId: l.id!, weight: l.weight }));
    missing.push(...s.loras.filter((l) => !known(l.id)).map((l) => `LoRA ${l.name}`));
    if (!known(s.checkpointId)) missing.push(`checkpoint ${s.checkpointName}`);
    store.updateSettings({
      prompt: s.prompt,
      negative: s.negative,
      ...(s.sampler ? { sampler: s.sampler } : {}),
      steps: s.steps,
      cfg: s.cfg,
      seed: s.seed,
      seedLocked: true,
      loras,
      ...(known(s.checkpointId) ? { checkpointId: s.checkpointId } : {}),
    });
    const hints = doc.layers.filter((l): l is HintLayer => l.type === 'hint');
    for (const c of s.controls) {
      const layer = c.id === null ? undefined : hints.find((h) => h.control.modelId === c.id);
      if (!layer) {
        missing.push(`a hint layer for ${c.name}`);
        continue;
      }
      store.updateLayer(layer.id, { weight: c.weight, start: c.start, end: c.end, enabled: true }, 'Use these settings');
    }
  });
  generation.sizeFromCanvas = false;
  generation.width = s.width;
  generation.height = s.height;
  return missing;
}
