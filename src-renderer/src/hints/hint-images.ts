// A hint layer's pixels as the control model expects them (RGB8 at the document size). The conventions:
// - scribble, lineart, softedge: drawn dark on light in the studio; the models take white lines on black, so
//   the layer is flattened over white paper and inverted.
// - depth: grey levels, near = light; unpainted is far (black).
// - segmentation: ADE20K class colours on black, brush edges snapped to the nearest class (ade20k.ts).
// - pose: skeletons rendered as OpenPose draws them (pose.ts); the layer's raster is not used.
// - canny: edges (white on black) of the source image layer, flattened over white, at the layer's thresholds.
// - normal: an imported normal map; unpainted is the flat normal (128, 128, 255).
// - condition: a CtrLoRA condition image as painted, over black.
// Pure module.
import type { HintKind, HintLayer } from '../../../src-main/common/document/model.ts';
import { segmentationImage } from './ade20k.ts';
import { canny } from '../../../src-main/common/hints/canny.ts';
import { blankRgb, flattenOver, greyToRgb, luma, type GreyImage, type RgbImage, type RgbaPixels } from '../../../src-main/common/hints/images.ts';
import { renderPose } from '../../../src-main/common/hints/pose.ts';

export const WHITE = [255, 255, 255] as const;
export const BLACK = [0, 0, 0] as const;
export const FLAT_NORMAL = [128, 128, 255] as const;

/** Dark strokes on light (or on transparent) to white lines on black: 255 - luma over white paper. */
export function whiteLinesOnBlack(layer: RgbaPixels): RgbImage {
  const grey = luma(flattenOver(layer, WHITE));
  for (let i = 0; i < grey.data.length; i++) grey.data[i] = 255 - grey.data[i];
  return greyToRgb(grey);
}

/** Painted grey levels as a depth map (near = light), unpainted = far. */
export function depthImage(layer: RgbaPixels): RgbImage {
  return greyToRgb(luma(flattenOver(layer, BLACK)));
}

export function normalImage(layer: RgbaPixels): RgbImage {
  return flattenOver(layer, FLAT_NORMAL);
}

/** Edges of an image layer at the canny hint's thresholds, white on black. */
export function cannyImage(source: RgbaPixels | null, width: number, height: number, low: number, high: number): RgbImage {
  if (!source) return blankRgb(width, height);
  const edges: GreyImage = canny(flattenOver(source, WHITE), { low, high });
  return greyToRgb(edges);
}

export interface HintSources {
  /** The hint layer's own pixels (all kinds but pose and canny). */
  pixels: RgbaPixels;
  /** Canny only: the pixels of the source image layer, or null when none is chosen. */
  cannySource: RgbaPixels | null;
}

/** The control image of one hint layer. */
export function hintImage(layer: HintLayer, sources: HintSources): RgbImage {
  const { width, height } = sources.pixels;
  const kind: HintKind = layer.hint;
  switch (kind) {
    case 'scribble':
    case 'lineart':
    case 'softedge':
      return whiteLinesOnBlack(sources.pixels);
    case 'depth':
      return depthImage(sources.pixels);
    case 'segmentation':
      return segmentationImage(sources.pixels);
    case 'pose':
      return renderPose(layer.people, width, height);
    case 'canny': {
      const low = layer.canny?.low ?? 100;
      const high = layer.canny?.high ?? 200;
      return cannyImage(sources.cannySource, width, height, low, high);
    }
    case 'normal':
      return normalImage(sources.pixels);
    case 'condition':
      return flattenOver(sources.pixels, BLACK);
  }
}
