// Factories for documents and layers with sensible defaults, and small lookups over the layer list.
// Pure module: main imports createDocumentRecord for `documents.create`, so it uses no DOM and no Svelte.
import {
  DEFAULT_SETTINGS,
  type ControlBinding,
  type DocumentRecord,
  type HintKind,
  type HintLayer,
  type ImageLayer,
  type Layer,
  type MaskLayer,
  type RegionLayer,
} from './model.ts';

/** A fresh id: 'prefix-' and 16 hex digits from the platform's random source. */
export function newId(prefix: string): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return `${prefix}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export const HINT_LABELS: Record<HintKind, string> = {
  scribble: 'Scribble',
  lineart: 'Line art',
  softedge: 'Soft edge',
  canny: 'Canny',
  depth: 'Depth',
  pose: 'Pose',
  segmentation: 'Segmentation',
  normal: 'Normal map',
  condition: 'Condition',
};

/** Thresholds ControlNet's canny annotator uses by default. */
export const DEFAULT_CANNY = { low: 100, high: 200 } as const;

export interface NewDocument {
  id?: string;
  name: string;
  width: number;
  height: number;
  /** ISO time; now by default. */
  now?: string;
}

/** A document with one empty image layer, active. */
export function createDocumentRecord(init: NewDocument): DocumentRecord {
  const image = createImageLayer({ name: 'Image' });
  return {
    id: init.id ?? newId('doc'),
    name: init.name,
    width: init.width,
    height: init.height,
    layers: [image],
    activeLayerId: image.id,
    settings: structuredClone(DEFAULT_SETTINGS),
    updatedAt: init.now ?? new Date().toISOString(),
  };
}

export function createImageLayer(init: Partial<Omit<ImageLayer, 'type'>> = {}): ImageLayer {
  const id = init.id ?? newId('layer');
  return {
    id,
    type: 'image',
    name: init.name ?? 'Image',
    visible: init.visible ?? true,
    opacity: init.opacity ?? 1,
    locked: init.locked ?? false,
    rasterId: init.rasterId ?? newId('raster'),
    historyId: init.historyId ?? null,
  };
}

export function createMaskLayer(init: Partial<Omit<MaskLayer, 'type'>> = {}): MaskLayer {
  return {
    id: init.id ?? newId('layer'),
    type: 'mask',
    name: init.name ?? 'Inpaint mask',
    visible: init.visible ?? true,
    opacity: init.opacity ?? 0.5,
    locked: init.locked ?? false,
    rasterId: init.rasterId ?? newId('raster'),
  };
}

export function createRegionLayer(init: Partial<Omit<RegionLayer, 'type'>> = {}): RegionLayer {
  return {
    id: init.id ?? newId('layer'),
    type: 'region',
    name: init.name ?? 'Region',
    visible: init.visible ?? true,
    opacity: init.opacity ?? 0.45,
    locked: init.locked ?? false,
    rasterId: init.rasterId ?? newId('raster'),
    prompt: init.prompt ?? '',
    appendMain: init.appendMain ?? false,
    feather: init.feather ?? 16,
    enabled: init.enabled ?? true,
  };
}

/** Enabled region layers, bottom to top (the order of the generation's regions). */
export function enabledRegions(doc: DocumentRecord): RegionLayer[] {
  return doc.layers.filter((l): l is RegionLayer => l.type === 'region' && l.enabled);
}

/** The control family a hint kind starts with: CtrLoRA for its own conditions, a ControlNet otherwise. */
export function defaultBinding(hint: HintKind): ControlBinding {
  return { family: hint === 'condition' ? 'ctrlora' : 'controlnet', modelId: null, baseId: null };
}

export function createHintLayer(hint: HintKind, init: Partial<Omit<HintLayer, 'type' | 'hint'>> = {}): HintLayer {
  return {
    id: init.id ?? newId('layer'),
    type: 'hint',
    hint,
    name: init.name ?? HINT_LABELS[hint],
    visible: init.visible ?? true,
    opacity: init.opacity ?? (hint === 'pose' || hint === 'segmentation' || hint === 'depth' ? 0.6 : 1),
    locked: init.locked ?? false,
    control: init.control ?? defaultBinding(hint),
    weight: init.weight ?? 1,
    start: init.start ?? 0,
    end: init.end ?? 1,
    enabled: init.enabled ?? true,
    rasterId: init.rasterId ?? newId('raster'),
    people: init.people ?? [],
    canny: init.canny ?? (hint === 'canny' ? { sourceLayerId: null, low: DEFAULT_CANNY.low, high: DEFAULT_CANNY.high } : null),
    regionLayerId: init.regionLayerId ?? null,
  };
}

export function findLayer(doc: DocumentRecord, id: string): Layer | undefined {
  return doc.layers.find((l) => l.id === id);
}

export function layerIndex(doc: DocumentRecord, id: string): number {
  return doc.layers.findIndex((l) => l.id === id);
}

/** Raster ids the document's layers point at, bottom to top. */
export function referencedRasters(doc: DocumentRecord): string[] {
  return doc.layers.map((l) => l.rasterId);
}

/** Enabled hint layers, bottom to top (the order of the generation's control units). */
export function enabledHints(doc: DocumentRecord): HintLayer[] {
  return doc.layers.filter((l): l is HintLayer => l.type === 'hint' && l.enabled);
}

/** The mask layer that applies to generation: the topmost visible one. */
export function activeMask(doc: DocumentRecord): MaskLayer | null {
  for (let i = doc.layers.length - 1; i >= 0; i--) {
    const l = doc.layers[i];
    if (l.type === 'mask' && l.visible) return l;
  }
  return null;
}
