// What a brush lays down on each kind of layer. Hints follow the conventions of their control models as the
// artist sees them: scribbles and lines dark on light (inverted for the model), depth as grey levels with
// near = light, segmentation in exact ADE20K palette colours (no antialiasing, or the rim would be a class
// that does not exist), the inpaint mask and CtrLoRA conditions in white (shown tinted: red, cyan).
import type { Layer } from '../../../src-main/common/document/model.ts';
import type { PaintStyle } from './brush-stamp.ts';
import type { ToolSettings } from './tool-settings.svelte.ts';

/** The ink of line-like hints in the UI. */
export const HINT_INK = '#141414';

export function greyHex(level: number): string {
  const v = Math.round(Math.min(255, Math.max(0, level))).toString(16).padStart(2, '0');
  return `#${v}${v}${v}`;
}

export function paintColor(layer: Layer, settings: ToolSettings): string {
  if (layer.type === 'image') return settings.color;
  if (layer.type === 'mask' || layer.type === 'region') return '#ffffff';
  switch (layer.hint) {
    case 'depth':
      return greyHex(settings.depth);
    case 'segmentation':
      return settings.segColor;
    case 'normal':
      return settings.color;
    case 'condition':
      return '#ffffff'; // the model reads it over black; the canvas shows it in the condition colour
    default:
      return HINT_INK;
  }
}

export function isAliased(layer: Layer): boolean {
  return layer.type === 'hint' && layer.hint === 'segmentation';
}

export function paintStyle(layer: Layer, settings: ToolSettings, erase = false): PaintStyle {
  return {
    color: erase ? '#000000' : paintColor(layer, settings),
    aliased: isAliased(layer),
    composite: erase ? 'destination-out' : 'source-over',
  };
}

/** Hint kinds painted with the brush tools (pose is edited as a skeleton, canny is computed). */
export function isPaintable(layer: Layer): boolean {
  return layer.type !== 'hint' || (layer.hint !== 'pose' && layer.hint !== 'canny');
}
