// How each kind of layer is recognised at a glance: a colour per hint kind (the layers panel's swatch, and the
// on-canvas tint of hints whose pixels are white on black for the model: canny edges, CtrLoRA conditions),
// the mask's red, and a short label. Dark-on-light hints (scribble, line art, soft edge) show their ink as is.
import type { HintKind, Layer } from '../../../src-main/common/document/model.ts';
import { HINT_LABELS } from '../../../src-main/common/document/layers.ts';

export const HINT_COLORS: Record<HintKind, string> = {
  scribble: '#f2a65a',
  lineart: '#f07f6a',
  softedge: '#e8c65c',
  canny: '#ff4fc8',
  depth: '#9aa8c4',
  pose: '#ff7b39',
  segmentation: '#4fd08a',
  normal: '#8d9cff',
  condition: '#2fc4e6',
};

/** The red of the mask overlay (at the layer's opacity, 0.5 by default). */
export const MASK_TINT = '#ff3b3b';
export const IMAGE_COLOR = '#a9adb6';

/** CtrLoRA conditions get a hue per condition model, so an edge and a blob layer read apart on the canvas. */
const CONDITION_HUES = ['#2fc4e6', '#b48cff', '#4fd89a', '#ffb14a', '#ff6fa8', '#7aa2ff'];

export function conditionColor(modelId: number | null): string {
  return modelId === null ? HINT_COLORS.condition : CONDITION_HUES[modelId % CONDITION_HUES.length];
}

/** Each region layer gets a hue of its own (from its id), so neighbouring regions read apart on the canvas. */
/** The add-layer menu's chip for regions (the first region hue). */
export const REGION_CHIP = '#5b8cff';
const REGION_HUES = ['#5b8cff', '#ffb02e', '#3fd17a', '#d46bff', '#ff6b8b', '#35c9c9'];

export function regionColor(layerId: string): string {
  let h = 0;
  for (const c of layerId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return REGION_HUES[h % REGION_HUES.length];
}

export function layerColor(layer: Layer): string {
  if (layer.type === 'region') return regionColor(layer.id);
  if (layer.type === 'hint') return layer.hint === 'condition' ? conditionColor(layer.control.modelId) : HINT_COLORS[layer.hint];
  return layer.type === 'mask' ? MASK_TINT : IMAGE_COLOR;
}

/** "Scribble hint", "Inpaint mask", "Image". */
export function layerKindLabel(layer: Layer): string {
  if (layer.type === 'region') return 'Region';
  if (layer.type === 'hint') return layer.hint === 'condition' ? 'CtrLoRA condition' : `${HINT_LABELS[layer.hint]} hint`;
  return layer.type === 'mask' ? 'Inpaint mask' : 'Image';
}
