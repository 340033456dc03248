// What the generate panel sends for a document: each enabled hint layer as a control unit (family, models,
// weight, start/end and its control image, RGB8 at the document size, made by the hint conventions in
// hints/hint-images.ts), and the topmost visible mask layer as a single-channel mask (white repaints).
// Hint layers without a chosen model are reported, not sent. Pure module.
import { hintImage } from '../hints/hint-images.ts';
import type { GreyImage, RgbImage, RgbaPixels } from '../../../src-main/common/hints/images.ts';
import { activeMask, enabledHints } from '../../../src-main/common/document/layers.ts';
import type { ControlBinding, DocumentRecord, HintKind } from '../../../src-main/common/document/model.ts';

export interface ControlImageUnit {
  layerId: string;
  hint: HintKind;
  family: ControlBinding['family'];
  modelId: number;
  /** CtrLoRA: the Base ControlNet. */
  baseId: number | null;
  weight: number;
  start: number;
  end: number;
  image: RgbImage; // [H, W, 3] at the document size
}

export interface ControlImages {
  units: ControlImageUnit[];
  /** White = repaint; null when the document has no visible mask layer (or it is empty). */
  mask: GreyImage | null;
  /** Enabled hint layers left out, and why (shown next to the Generate button). */
  skipped: { layerId: string; reason: string }[];
}

/** Pixels of a raster by id; the DocumentStore's RasterStore gives them with readImage. */
export type RasterReader = (rasterId: string) => RgbaPixels | null;

export function buildControlImages(doc: DocumentRecord, rasters: RasterReader): ControlImages {
  const units: ControlImageUnit[] = [];
  const skipped: ControlImages['skipped'] = [];
  const blank = (): RgbaPixels => ({ width: doc.width, height: doc.height, data: new Uint8ClampedArray(doc.width * doc.height * 4) });
  for (const layer of enabledHints(doc)) {
    const { control } = layer;
    if (control.modelId === null) {
      skipped.push({ layerId: layer.id, reason: `${layer.name}: choose a control model` });
      continue;
    }
    if (control.family === 'ctrlora' && control.baseId === null) {
      skipped.push({ layerId: layer.id, reason: `${layer.name}: choose the CtrLoRA Base ControlNet` });
      continue;
    }
    if (layer.end <= layer.start || layer.weight === 0) {
      skipped.push({ layerId: layer.id, reason: `${layer.name}: its weight or step range is empty` });
      continue;
    }
    const sourceId = layer.canny?.sourceLayerId ?? null;
    const source = sourceId ? doc.layers.find((l) => l.id === sourceId) : undefined;
    const image = hintImage(layer, {
      pixels: rasters(layer.rasterId) ?? blank(),
      cannySource: source ? rasters(source.rasterId) : null,
    });
    units.push({
      layerId: layer.id,
      hint: layer.hint,
      family: control.family,
      modelId: control.modelId,
      baseId: control.family === 'ctrlora' ? control.baseId : null,
      weight: layer.weight,
      start: layer.start,
      end: layer.end,
      image,
    });
  }
  return { units, mask: maskImage(doc, rasters), skipped };
}

/** The mask layer's coverage: alpha times luma, so white paint repaints and transparent keeps. */
function maskImage(doc: DocumentRecord, rasters: RasterReader): GreyImage | null {
  const layer = activeMask(doc);
  const pixels = layer ? rasters(layer.rasterId) : null;
  return pixels ? coverage(pixels) : null;
}

/** A painted mask's coverage (inpaint masks, regions): alpha times luma; null when nothing is painted. */
export function coverage(pixels: RgbaPixels): GreyImage | null {
  const out = new Uint8Array(pixels.width * pixels.height);
  let any = false;
  for (let i = 0, o = 0; o < out.length; i += 4, o++) {
    const d = pixels.data;
    const luma = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    out[o] = Math.round((luma * d[i + 3]) / 255);
    if (out[o] > 0) any = true;
  }
  return any ? { width: pixels.width, height: pixels.height, data: out } : null;
}
