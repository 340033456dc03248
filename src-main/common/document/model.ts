// The studio's document: a canvas size and an ordered list of layers, kept as plain typed records. Views (the
// Konva canvas, the layers panel, the multi-condition panel) render from these records; edits go through the
// DocumentStore so every change is undoable and autosaved. Pixel data never lives in these records: a layer
// points at a raster by id, and rasters are held by the RasterStore (canvases, outside reactive state).
// Pure module: no DOM access, so it runs under node in unit tests.

/** What a hint layer steers; each kind maps to a control model family the user picks from the library. */
export type HintKind =
  | 'scribble' // brush strokes, dark on light in the UI, inverted to white-on-black for the model
  | 'lineart' // brush lines, same convention as scribble
  | 'softedge' // HED / PiDiNet-like soft edges, painted or from an annotator
  | 'canny' // computed from an image layer with low/high thresholds
  | 'depth' // grey levels, near = light
  | 'pose' // OpenPose skeletons: 18 keypoints per person
  | 'segmentation' // ADE20K palette colours
  | 'normal' // imported normal map
  | 'condition'; // a CtrLoRA condition of its own (e.g. "edge via CtrLoRA", "blob via CtrLoRA")

/** The control model a hint layer feeds: a ControlNet, a CtrLoRA condition LoRA (+ its base), or a ControlNet-XS. */
export interface ControlBinding {
  family: 'controlnet' | 'ctrlora' | 'cnxs';
  /** Library item id of the ControlNet / condition LoRA / ControlNet-XS; null until the user picks one. */
  modelId: number | null;
  /** CtrLoRA only: library item id of the Base ControlNet. */
  baseId: number | null;
}

export interface LayerCommon {
  id: string;
  name: string;
  visible: boolean;
  opacity: number; // 0..1, display only
  locked: boolean;
}

export interface ImageLayer extends LayerCommon {
  type: 'image';
  rasterId: string;
  /** History entry this image came from, when it is a generated result. */
  historyId: number | null;
}

export interface PoseKeypoint {
  x: number; // canvas pixels
  y: number;
  visible: boolean;
}

/** One OpenPose person: 18 keypoints in the COCO order OpenPose uses (nose, neck, r-shoulder...). */
export interface PosePerson {
  id: string;
  keypoints: PoseKeypoint[]; // length 18
}

export interface HintLayer extends LayerCommon {
  type: 'hint';
  hint: HintKind;
  control: ControlBinding;
  /** Control weight, 0..2. */
  weight: number;
  /** Fraction of the steps where the control applies: start < end, both in [0, 1]. */
  start: number;
  end: number;
  /** Included in generation (the multi-condition panel's toggle); distinct from `visible`. */
  enabled: boolean;
  /** Painted hints (all kinds but pose) keep their pixels here. */
  rasterId: string;
  /** Pose hints: the editable skeletons (rendered to the raster with the standard OpenPose colours). */
  people: PosePerson[];
  /** Canny hints: the image layer they are computed from and the thresholds. */
  canny: { sourceLayerId: string | null; low: number; high: number } | null;
  /**
   * The region layer this hint is limited to (it steers only where that region is painted); null: the whole
   * picture. Kept when the region layer is deleted, so undo brings the tie back; until then the hint is left out.
   */
  regionLayerId: string | null;
}

export interface MaskLayer extends LayerCommon {
  type: 'mask';
  rasterId: string; // white = repaint
}

/**
 * A region: a painted mask with its own prompt. Where it is painted, every cross-attention of the UNet reads this
 * prompt instead of the main one (grey paint mixes them; the main prompt keeps what no region covers).
 */
export interface RegionLayer extends LayerCommon {
  type: 'region';
  rasterId: string; // white (alpha) = the region
  prompt: string;
  /** The region's text becomes "region prompt, main prompt" (Krita's switch). */
  appendMain: boolean;
  /** Edge softness in pixels. */
  feather: number;
  /** Included in generation; distinct from `visible`. */
  enabled: boolean;
}

export type Layer = ImageLayer | HintLayer | MaskLayer | RegionLayer;

/** Shown where a region layer is chosen and edited. */
export const REGION_EXPLANATION =
  'Paint where its own prompt applies: there the picture follows it instead of the main prompt (soft edges and grey ' +
  'paint blend the two), the main prompt keeps the rest. LoRA tags in its prompt (<lora:name:0.8>) act only inside ' +
  'the region. Costs a little per region, not an extra pass.';

/** Generation settings that belong to the document (restored with it). */
export interface GenerationSettings {
  checkpointId: number | null;
  prompt: string;
  negative: string;
  sampler: string;
  steps: number;
  cfg: number;
  seed: number; // -1 = random
  seedLocked: boolean;
  batchSize: number;
  batchCount: number;
  loras: { modelId: number; weight: number }[];
}

export interface DocumentRecord {
  id: string;
  name: string;
  width: number; // pixels, multiple of 8
  height: number;
  /** Bottom to top. */
  layers: Layer[];
  activeLayerId: string | null;
  settings: GenerationSettings;
  updatedAt: string;
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  checkpointId: null,
  prompt: '',
  negative: '',
  sampler: 'dpmpp_2m_karras',
  steps: 20,
  cfg: 7,
  seed: -1,
  seedLocked: false,
  batchSize: 1,
  batchCount: 1,
  loras: [],
};

/** One line per hint kind, shown where it is chosen. */
export const HINT_EXPLANATIONS: Record<HintKind, string> = {
  scribble: 'Rough strokes: the model follows the gist of the shapes you draw.',
  lineart: 'Clean lines: the model keeps your outlines and fills in the rest.',
  softedge: 'Soft edges: loose contours that guide composition without hard lines.',
  canny: 'Edges found in an image layer: keeps its exact outlines (tune the thresholds).',
  depth: 'Depth: paint near things light and far things dark to set the 3-D layout.',
  pose: 'Pose: drag the joints of OpenPose skeletons to set how people stand.',
  segmentation: 'Segmentation: paint regions with ADE20K class colours (sky, building, person...).',
  normal: 'Normal map: surface orientation from an imported normal-map image.',
  condition: 'A CtrLoRA condition: a small LoRA on the shared Base ControlNet, trained for this kind of hint.',
};
