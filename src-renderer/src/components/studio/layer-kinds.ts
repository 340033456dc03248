// What the add-layer menu offers: image and mask layers, one entry per ControlNet hint kind, one per CtrLoRA
// condition LoRA in the library ("edge via CtrLoRA", bound to a Base ControlNet) and one per ControlNet-XS
// model, each with the one-line explanation shown where it is chosen. Pure module.
import type { LibraryItem } from '../../../../src-main/common/contract.ts';
import { HINT_LABELS } from '../../../../src-main/common/document/layers.ts';
import { HINT_EXPLANATIONS, REGION_EXPLANATION, type ControlBinding, type HintKind } from '../../../../src-main/common/document/model.ts';

export interface LayerChoice {
  id: string;
  label: string;
  explanation: string;
  kind: 'image' | 'mask' | 'hint' | 'region';
  hint?: HintKind;
  /** Preset binding (CtrLoRA conditions, ControlNet-XS models); ControlNet hints start unbound. */
  control?: ControlBinding;
  group: 'Layers' | 'ControlNet hints' | 'CtrLoRA conditions' | 'ControlNet-XS';
}

const CONTROLNET_HINTS: HintKind[] = ['scribble', 'lineart', 'softedge', 'canny', 'depth', 'pose', 'segmentation', 'normal'];

/** "edge" from "tiny-ctrlora-edge", "ctrlora_hed_lora", "depth.ctrlora"…: the condition a CtrLoRA LoRA is for. */
export function conditionName(item: Pick<LibraryItem, 'name' | 'metadata'>): string {
  // ctrlora_condition: what Hintbrush's own trainer writes (src-main/engine/training/lora-writers.ts).
  const meta = item.metadata?.['ctrlora.condition'] ?? item.metadata?.ctrlora_condition ?? item.metadata?.condition;
  if (meta) return meta;
  const parts = item.name
    .toLowerCase()
    .split(/[-_.\s]+/)
    .filter((p) => p && !['ctrlora', 'lora', 'tiny', 'sd15', 'sd', 'v1', 'condition', 'rank', 'safetensors', 'ckpt'].includes(p) && !/^(r|rank)?\d+$/.test(p));
  return parts.join(' ') || item.name;
}

/** The hint kind a ControlNet-XS model's name suggests (they are trained for canny or depth). */
export function cnxsHint(name: string): HintKind {
  const n = name.toLowerCase();
  if (n.includes('depth')) return 'depth';
  if (n.includes('canny') || n.includes('edge')) return 'canny';
  return 'scribble';
}

const usable = (i: LibraryItem) => i.problem === '';
/** The same model is often there twice (.ckpt and .safetensors): offer the safetensors one. */
const safetensorsFirst = (a: LibraryItem, b: LibraryItem) => Number(!a.path.endsWith('.safetensors')) - Number(!b.path.endsWith('.safetensors'));

export function layerChoices(library: readonly LibraryItem[]): LayerChoice[] {
  const out: LayerChoice[] = [
    { id: 'image', label: 'Image', explanation: 'Pixels to paint on, or a picture to start from (img2img, inpainting).', kind: 'image', group: 'Layers' },
    { id: 'mask', label: 'Inpaint mask', explanation: 'Paint where the picture should be repainted; the rest is kept.', kind: 'mask', group: 'Layers' },
    { id: 'region', label: 'Region', explanation: REGION_EXPLANATION, kind: 'region', group: 'Layers' },
  ];
  for (const hint of CONTROLNET_HINTS) {
    out.push({ id: `hint:${hint}`, label: HINT_LABELS[hint], explanation: HINT_EXPLANATIONS[hint], kind: 'hint', hint, group: 'ControlNet hints' });
  }
  const base = library.filter((i) => i.kind === 'ctrlora-base' && usable(i)).sort(safetensorsFirst)[0] ?? null;
  const seen = new Set<string>();
  for (const item of library.filter((i) => i.kind === 'ctrlora-lora' && usable(i)).sort(safetensorsFirst)) {
    const name = conditionName(item);
    if (seen.has(name)) continue; // the same condition in two formats
    seen.add(name);
    out.push({
      id: `ctrlora:${item.id}`,
      label: `${name} via CtrLoRA`,
      explanation: base
        ? `${HINT_EXPLANATIONS.condition} Runs ${item.name} on ${base.name}.`
        : `${HINT_EXPLANATIONS.condition} Add a CtrLoRA Base ControlNet to the library to use it.`,
      kind: 'hint',
      hint: 'condition',
      control: { family: 'ctrlora', modelId: item.id, baseId: base?.id ?? null },
      group: 'CtrLoRA conditions',
    });
  }
  for (const item of library.filter((i) => i.kind === 'cnxs' && usable(i))) {
    const hint = cnxsHint(item.name);
    out.push({
      id: `cnxs:${item.id}`,
      label: `${HINT_LABELS[hint]} via ControlNet-XS`,
      explanation: `ControlNet-XS: a small control model working alongside the UNet; paint its ${HINT_LABELS[hint].toLowerCase()} hint as usual (${item.name}).`,
      kind: 'hint',
      hint,
      control: { family: 'cnxs', modelId: item.id, baseId: null },
      group: 'ControlNet-XS',
    });
  }
  return out;
}

/** Library kinds a binding family picks its model from. */
export function modelKindFor(family: ControlBinding['family']): LibraryItem['kind'] {
  return family === 'controlnet' ? 'controlnet' : family === 'ctrlora' ? 'ctrlora-lora' : 'cnxs';
}
