// "Use these settings": a history entry's settings, or those read from a dropped A1111 PNG, put back into the
// open document as one undo step: prompt, negative prompt, sampler, steps, CFG, seed (locked), checkpoint and
// LoRAs (when the library has them), and each control's weight and step range onto the hint layer bound to
// the same model. The size and the VAE go to the generate panel; embeddings must be in the library to be used.
// Returns what could not be matched, to say so.
import type { GenerationSettings as UsedSettings, ReadSettings } from '../../../../src-main/common/generation-contract.ts';
import type { HintLayer } from '../../document/model.ts';
import type { Studio } from './studio.svelte.ts';
import { hiresChoiceOf, type HiresChoice } from './hires-choice.ts';

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
  /** The standalone VAE, null when the checkpoint's own was used. */
  vae: { id: number | null; name: string } | null;
  embeddings: { id: number | null; name: string }[];
  /** Hires fix as the picture had it (off when it had none). */
  hires: HiresChoice;
  /** The hires upscaler model's name, to say so when the library lacks it. */
  hiresModelName: string | null;
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
    vae: s.vae ? { id: s.vae.id, name: s.vae.name } : null,
    embeddings: (s.embeddings ?? []).map((e) => ({ id: e.id, name: e.name })),
    hires: hiresChoiceOf(s.hires),
    hiresModelName: s.hires?.model?.name ?? null,
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
  if (s.vae && !known(s.vae.id)) missing.push(`VAE ${s.vae.name}`);
  generation.vae = s.vae && known(s.vae.id) ? s.vae.id! : null;
  missing.push(...s.embeddings.filter((e) => !known(e.id)).map((e) => `embedding ${e.name}`));
  generation.sizeFromCanvas = false;
  generation.width = s.width;
  generation.height = s.height;
  generation.hires = s.hires;
  if (s.hires.enabled && s.hires.upscaler === 'model' && !known(s.hires.modelId)) missing.push(`upscaler ${s.hiresModelName ?? 'model'}`);
  return missing;
}
