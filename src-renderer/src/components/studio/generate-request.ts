// The studio's document turned into a `generate.start` request: the settings, one control unit per enabled
// hint layer that has a model (control images by document/control-images.ts, at the canvas size; main
// resizes them to the generation size), and, when the inpaint mask holds anything, the visible image layers
// as the init picture with the mask. Hints left out are named, so the panel can say why. A hint tied to a region
// layer carries that region's index in the request; tied to one that is not sent (off, empty, deleted) it is left out.
import type { GenerateInput, SamplerName, ControlUnitInput } from '../../../../src-main/common/generation-contract.ts';
import { SAMPLER_NAMES } from '../../../../src-main/common/generation-contract.ts';
import type { LibraryItem } from '../../../../src-main/common/contract.ts';
import type { HiresInput } from '../../../../src-main/common/hires-contract.ts';
import type { DocumentRecord, HintLayer } from '../../../../src-main/common/document/model.ts';
import type { RgbaImage } from '../../document/raster-store.ts';
import { buildControlImages, coverage } from '../../document/control-images.ts';
import { enabledRegions } from '../../../../src-main/common/document/layers.ts';
import type { RegionRecord } from '../../../../src-main/common/regions-contract.ts';
import { rgbaToPngBase64, rgbToPngBase64 } from './image-io.ts';

export interface RequestSources {
  doc: DocumentRecord;
  /** A raster's pixels, or null when the store has none. */
  pixels(rasterId: string): RgbaImage | null;
  /** The visible image layers composited over white (the init picture for inpainting). */
  composite(): RgbaImage;
  library: readonly LibraryItem[];
  checkpointId: number | null;
  width: number;
  height: number;
  /** Inpainting strength (fraction of the steps that run). */
  denoise: number;
  /** 'auto' or absent: the checkpoint's default VAE; null: the checkpoint's own; a number: that library VAE. */
  vae?: 'auto' | number | null;
  /** Hires fix; left out (and named) when the mask makes this an inpainting run. */
  hires?: HiresInput | null;
}

export interface BuiltRequest {
  input: GenerateInput;
  /** Enabled hint layers left out, with why ("Scribble: no model chosen"). */
  skipped: string[];
}

/** A multiple of 8 within what the pipeline takes. */
export function snap8(v: number): number {
  return Math.min(2048, Math.max(64, Math.round(v / 8) * 8));
}

export function isSampler(name: string): name is SamplerName {
  return (SAMPLER_NAMES as readonly string[]).includes(name);
}

/** The Base ControlNet a CtrLoRA condition runs on: the layer's own, else the first in the library. */
export function ctrloraBase(layer: HintLayer, library: readonly LibraryItem[]): number | null {
  if (layer.control.baseId !== null) return layer.control.baseId;
  return library.find((i) => i.kind === 'ctrlora-base' && i.problem === '')?.id ?? null;
}

export async function buildGenerateInput(src: RequestSources): Promise<BuiltRequest> {
  const { doc } = src;
  const s = doc.settings;
  if (src.checkpointId === null) throw Object.assign(new Error('Add a checkpoint to the library first'), { kind: 'no-checkpoint' });
  const built = buildControlImages(doc, (id) => src.pixels(id));
  // Regions: each enabled region layer's painted coverage as a grey PNG (white = the region); empty ones are named.
  const regions: RegionRecord[] = [];
  const regionIndex = new Map<string, number>(); // region layer id -> its index in `regions`
  const skipped = built.skipped.map((s) => s.reason);
  for (const layer of enabledRegions(doc)) {
    const pixels = src.pixels(layer.rasterId);
    const grey = pixels ? coverage(pixels) : null;
    if (!grey) {
      skipped.push(`${layer.name}: nothing painted, region left out`);
      continue;
    }
    const data = new Uint8ClampedArray(grey.width * grey.height * 4);
    for (let i = 0, o = 0; i < grey.data.length; i++, o += 4) {
      data[o] = data[o + 1] = data[o + 2] = grey.data[i];
      data[o + 3] = 255;
    }
    regionIndex.set(layer.id, regions.length);
    regions.push({ maskPngBase64: await rgbaToPngBase64({ width: grey.width, height: grey.height, data }), prompt: layer.prompt, feather: layer.feather, appendMain: layer.appendMain });
  }

  const controls: ControlUnitInput[] = [];
  for (const unit of built.units) {
    // a hint tied to a region layer goes with it: to its index among the regions sent, or left out with it
    const hintLayer = doc.layers.find((l): l is HintLayer => l.id === unit.layerId && l.type === 'hint');
    const tie = hintLayer?.regionLayerId ?? null;
    const region = tie === null ? null : (regionIndex.get(tie) ?? -1);
    if (region === -1) {
      const regionLayer = doc.layers.find((l) => l.id === tie);
      skipped.push(`${hintLayer!.name}: ${regionLayer ? `its region ${regionLayer.name} is off or has nothing painted` : 'its region layer was deleted'}, hint left out`);
      continue;
    }
    const control: ControlUnitInput = {
      kind: unit.family,
      model: unit.modelId,
      imagePngBase64: await rgbToPngBase64(unit.image),
      weight: unit.weight,
      start: unit.start,
      end: unit.end,
      resizeMode: 'just-resize',
    };
    if (unit.baseId !== null) control.base = unit.baseId;
    const layerName = doc.layers.find((l) => l.id === unit.layerId)?.name;
    if (layerName !== undefined) control.layer = layerName.slice(0, 200);
    if (region !== null) control.region = region;
    controls.push(control);
  }

  let init: GenerateInput['init'] = null;
  let mask: GenerateInput['mask'] = null;
  if (built.mask) {
    const m = built.mask;
    const data = new Uint8ClampedArray(m.width * m.height * 4);
    for (let i = 0, o = 0; i < m.data.length; i++, o += 4) {
      data[o] = data[o + 1] = data[o + 2] = m.data[i];
      data[o + 3] = 255;
    }
    init = { imagePngBase64: await rgbaToPngBase64(src.composite()), strength: src.denoise, resizeMode: 'just-resize' };
    mask = { imagePngBase64: await rgbaToPngBase64({ width: m.width, height: m.height, data }) };
  }

  if (src.hires && init) skipped.push('Hires fix: it is for text-to-image, not inpainting');
  return {
    skipped,
    input: {
      checkpoint: src.checkpointId,
      prompt: s.prompt,
      negative: s.negative,
      width: snap8(src.width),
      height: snap8(src.height),
      steps: s.steps,
      cfg: s.cfg,
      seed: s.seedLocked && s.seed >= 0 ? s.seed : null,
      sampler: isSampler(s.sampler) ? s.sampler : 'dpmpp_2m_karras',
      clipSkip: 1,
      controls,
      loras: s.loras.map((l) => ({ model: l.modelId, weight: l.weight })),
      init,
      mask,
      batchSize: s.batchSize,
      batchCount: s.batchCount,
      ...(src.vae === undefined || src.vae === 'auto' ? {} : { vae: src.vae }),
      hires: init ? null : (src.hires ?? null),
      ...(regions.length ? { regions } : {}),
    },
  };
}
