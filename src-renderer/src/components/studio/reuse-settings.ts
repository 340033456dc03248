// "Use these settings": a history entry's settings, or those read from a dropped A1111 PNG, put back into the
// open document as one undo step: prompt, negative prompt, sampler, steps, CFG, seed (locked), checkpoint and
// LoRAs (when the library has them), and each control's weight and step range onto the hint layer bound to
// the same model. The size goes to the generate panel. Returns what could not be matched, to say so.
// Regions (prompts and masks, from the history record or the PNG's hintbrush-regions chunk) come back as region
// layers in place of the document's current ones (restoreRegions, also one undo step), and each hint that was
// tied to a region is tied to the restored region layer again (an untied one goes back to the whole picture).
// The VAE goes to the generate panel; embeddings must be in the library to be used.
import type { GenerationSettings as UsedSettings, ReadSettings } from '../../../../src-main/common/generation-contract.ts';
import type { RegionRecord } from '../../../../src-main/common/regions-contract.ts';
import type { HintLayer, Layer } from '../../../../src-main/common/document/model.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import { loadImage, pixelsAt, pngDataUrl } from './image-io.ts';
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
  /** `layer`: the hint layer the control came from, when the studio made the picture; `region`: index into `regions`. */
  controls: { kind: string; id: number | null; name: string; base: string | null; layer: string | null; weight: number; start: number; end: number; region: number | null }[];
  /** The standalone VAE, null when the checkpoint's own was used. */
  vae: { id: number | null; name: string } | null;
  embeddings: { id: number | null; name: string }[];
  /** Hires fix as the picture had it (off when it had none). */
  hires: HiresChoice;
  /** The hires upscaler model's name, to say so when the library lacks it. */
  hiresModelName: string | null;
  regions: RegionRecord[];
}

/** The settings of a history entry, or those read from a dropped PNG (the same fields, resolved against the library). */
export function reusableSettings(s: UsedSettings | ReadSettings, regions: RegionRecord[] = 'regions' in s ? (s.regions ?? []) : []): ReusableSettings {
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
    controls: s.controls.map((c) => ({
      kind: c.kind,
      id: c.model.id,
      name: c.model.name,
      base: c.base?.name ?? null,
      layer: ('layer' in c && c.layer) || null,
      weight: c.weight,
      start: c.start,
      end: c.end,
      region: c.region ?? null,
    })),
    vae: s.vae ? { id: s.vae.id, name: s.vae.name } : null,
    embeddings: (s.embeddings ?? []).map((e) => ({ id: e.id, name: e.name })),
    hires: hiresChoiceOf(s.hires),
    hiresModelName: s.hires?.model?.name ?? null,
    regions,
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
    for (const c of s.controls) {
      const layer = hintLayerFor(doc.layers, c);
      if (!layer) {
        missing.push(`a hint layer for ${c.name}`);
        continue;
      }
      // a tie to a region is made by restoreRegions, once the region layers exist
      const whole = c.region === null ? { regionLayerId: null } : {};
      store.updateLayer(layer.id, { weight: c.weight, start: c.start, end: c.end, enabled: true, ...whole }, 'Use these settings');
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

/** The hint layer a control goes back to: bound to its model, the one of the same name when several are. */
function hintLayerFor(layers: readonly Layer[], c: ReusableSettings['controls'][number]): HintLayer | undefined {
  const bound = c.id === null ? [] : layers.filter((h): h is HintLayer => h.type === 'hint' && h.control.modelId === c.id);
  return bound.find((h) => h.name === c.layer) ?? bound[0];
}

/** A grey mask (white = the region) as region paint: white whose alpha is the mask, at the document size. */
function regionPixels(mask: RgbaImage): RgbaImage {
  const data = new Uint8ClampedArray(mask.data.length);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = data[i + 1] = data[i + 2] = 255;
    data[i + 3] = Math.round(0.299 * mask.data[i] + 0.587 * mask.data[i + 1] + 0.114 * mask.data[i + 2]);
  }
  return { width: mask.width, height: mask.height, data };
}

/**
 * Replaces the document's region layers by the given regions (nothing happens when there are none), and ties
 * each control's hint layer that had a region to the restored layer.
 */
export async function restoreRegions(studio: Studio, regions: readonly RegionRecord[], controls: ReusableSettings['controls'] = []): Promise<number> {
  const { store } = studio;
  const doc = store.state.doc;
  if (!doc || regions.length === 0) return 0;
  const masks = await Promise.all(regions.map(async (r) => regionPixels(pixelsAt(await loadImage(pngDataUrl(r.maskPngBase64)), doc.width, doc.height))));
  store.transact('Restore regions', () => {
    for (const old of doc.layers.filter((l) => l.type === 'region')) store.removeLayer(old.id);
    const restored = regions.map((r, i) => {
      const layer = store.addRegionLayer({ name: `Region ${i + 1}`, prompt: r.prompt, feather: r.feather, appendMain: r.appendMain });
      store.replaceRaster(layer.rasterId, masks[i], 'Restore regions');
      return layer;
    });
    for (const c of controls) {
      const hint = c.region === null ? undefined : hintLayerFor(doc.layers, c);
      if (hint && restored[c.region!]) store.updateLayer(hint.id, { regionLayerId: restored[c.region!].id }, 'Restore regions');
    }
  });
  return regions.length;
}
