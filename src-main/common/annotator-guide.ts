// What each annotator does, which model files it needs, and where an artist gets them: the texts the studio
// shows next to the annotator menu and in the library. Pure module (runs in main, engine and renderer).
// The files are recognised by their graph's inputs and outputs, never by their names (src-main/library/
// detect-annotator.ts), so any export with the published signature works, not only the files named here.

import type { AnnotateResult, AnnotatorLayout, AnnotatorTool } from './contract.ts';

export interface AnnotatorModelGuide {
  layout: AnnotatorLayout;
  /** Short name of the file's role, e.g. "person detector". */
  label: string;
  /** What the model does, one sentence. */
  does: string;
  /** Where to get a file that works, with its approximate size. */
  where: string;
}

export interface AnnotatorToolGuide {
  tool: AnnotatorTool;
  title: string;
  /** The hint layer the result becomes. */
  hint: AnnotateResult['hint'];
  /** What the artist gets, one sentence. */
  does: string;
  /** The models it needs, in the order they run. */
  needs: AnnotatorLayout[];
}

export const ANNOTATOR_MODELS: Record<AnnotatorLayout, AnnotatorModelGuide> = {
  'depth-anything': {
    layout: 'depth-anything',
    label: 'depth model',
    does: 'Estimates how far each pixel is from the camera (Depth Anything V1 or V2).',
    where:
      'Depth Anything V2 Small ONNX (onnx-community/depth-anything-v2-small, onnx/model.onnx, ~100 MB); the Base and Large exports and Depth Anything V1 ONNX exports (e.g. fabio-sim/Depth-Anything-ONNX) work too.',
  },
  'dwpose-detector': {
    layout: 'dwpose-detector',
    label: 'person detector',
    does: 'Finds a box around each person (YOLOX), for the pose model to look inside.',
    where: 'DWPose: yolox_l.onnx from yzd-v/DWPose (~220 MB), used together with dw-ll_ucoco_384.onnx.',
  },
  'dwpose-pose': {
    layout: 'dwpose-pose',
    label: 'pose model',
    does: 'Places the body, hand and face keypoints of one person (RTMPose / DWPose, SimCC outputs).',
    where: 'DWPose: dw-ll_ucoco_384.onnx from yzd-v/DWPose (~135 MB), used together with yolox_l.onnx; RTMPose-m/l ONNX exports work too.',
  },
  'openpose-body': {
    layout: 'openpose-body',
    label: 'OpenPose body model',
    does: 'Finds every person\'s joints at once from heatmaps and part-affinity fields (the original OpenPose).',
    where:
      'The OpenPose body model (body_pose_model.pth from lllyasviel/Annotators, ~200 MB) exported to ONNX; an export whose outputs have 38 PAF and 19 heatmap channels works.',
  },
  lineart: {
    layout: 'lineart',
    label: 'lineart model',
    does: 'Traces the picture\'s lines like an artist\'s drawing.',
    where:
      'Informative Drawings lineart ONNX (sk_model.pth or sk_model2.pth from lllyasviel/Annotators exported to ONNX, ~17 MB); a lineart_anime ONNX export works too.',
  },
  hed: {
    layout: 'hed',
    label: 'HED soft edge model',
    does: 'Finds soft, thick edges (holistically-nested edge detection).',
    where: 'ControlNet\'s HED (ControlNetHED.pth from lllyasviel/Annotators, ~30 MB) exported to ONNX, with its side outputs or its fused output.',
  },
};

export const ANNOTATOR_TOOLS_GUIDE: Record<AnnotatorTool, AnnotatorToolGuide> = {
  depth: {
    tool: 'depth',
    title: 'Depth (Depth Anything)',
    hint: 'depth',
    does: 'A grey depth map of the picture, near things light and far things dark, for a depth ControlNet.',
    needs: ['depth-anything'],
  },
  dwpose: {
    tool: 'dwpose',
    title: 'Pose (DWPose)',
    hint: 'pose',
    does: 'Editable OpenPose skeletons of the people in the picture; the most accurate pose annotator.',
    needs: ['dwpose-detector', 'dwpose-pose'],
  },
  openpose: {
    tool: 'openpose',
    title: 'Pose (OpenPose)',
    hint: 'pose',
    does: 'Editable OpenPose skeletons of the people in the picture, with the original OpenPose body model.',
    needs: ['openpose-body'],
  },
  lineart: {
    tool: 'lineart',
    title: 'Lineart',
    hint: 'lineart',
    does: 'Clean lines traced from the picture, as a lineart hint you can paint over.',
    needs: ['lineart'],
  },
  softedge: {
    tool: 'softedge',
    title: 'Soft edge (HED)',
    hint: 'softedge',
    does: 'Soft contours of the picture\'s shapes, as a soft edge hint you can paint over.',
    needs: ['hed'],
  },
};

/** "Add yolox_l.onnx ..." texts for the models a tool still lacks. */
export function missingModelsText(tool: AnnotatorTool, have: ReadonlySet<AnnotatorLayout>): string {
  const missing = ANNOTATOR_TOOLS_GUIDE[tool].needs.filter((l) => !have.has(l));
  if (missing.length === 0) return '';
  return `Add to the library: ${missing.map((l) => `${ANNOTATOR_MODELS[l].label}: ${ANNOTATOR_MODELS[l].where}`).join(' ')}`;
}
