// What an ONNX model is, read from its graph's inputs and outputs (names, ranks, channel counts) and the op
// that makes each output; never from the file name. The library's probe records the answer as the row's
// layout, and the engine asks again before running a file, so a file changed on disk is not misread.
//
// Signatures of the published exports:
//   depth-anything   image|pixel_values [N,3,H,W] -> depth|predicted_depth [N,H,W] or [N,1,H,W]
//   dwpose-pose      input [1,3,256,192|384,288] -> simcc_x [1,K,2W], simcc_y [1,K,2H] (K 133 or 17)
//   dwpose-detector  images [1,3,640,640] -> output [1,8400,85] (YOLOX before decoding and NMS)
//   openpose-body    [1,3,H,W] -> PAFs [1,38,H/8,W/8] and heatmaps [1,19,H/8,W/8]
//   hed              [1,3,H,W] -> 5 side outputs [1,1,h,w] (or one fused output named like an edge map)
//   lineart          [1,3,H,W] -> [1,1,H,W] (Sigmoid: informative drawings; Tanh: lineart_anime)

import type { AnnotatorLayout } from '../common/contract.ts';
import { describeValue, type OnnxSignature, type OnnxValue } from '../formats/onnx-reader.ts';

export interface AnnotatorModelInfo {
  layout: AnnotatorLayout;
  /** The image input. */
  input: OnnxValue;
  /** Facts for the library's details column. */
  details: Record<string, string | number>;
}

const FLOAT_TYPES = new Set(['float32', 'float16']);

/** A float image input [N, 3, H, W] (free dims allowed). */
function isImage(v: OnnxValue | undefined): v is OnnxValue {
  return !!v && v.dims.length === 4 && (v.dims[1] === 3 || v.dims[1] === -1) && FLOAT_TYPES.has(v.dtype);
}

/** A one-channel map [N, 1, H, W]. */
function isMap(v: OnnxValue): boolean {
  return v.dims.length === 4 && v.dims[1] === 1 && FLOAT_TYPES.has(v.dtype);
}

const channels = (v: OnnxValue) => (v.dims.length === 4 ? v.dims[1] : 0);

/** "HxW" of an input whose spatial size is fixed, or 'any'. */
function sizeText(v: OnnxValue): string {
  return v.dims[2] > 0 && v.dims[3] > 0 ? `${v.dims[2]}x${v.dims[3]}` : 'any';
}

/** The annotator `sig` describes, or null when it is none Hintbrush runs. */
export function classifyAnnotator(sig: OnnxSignature): AnnotatorModelInfo | null {
  if (sig.inputs.length !== 1 || !isImage(sig.inputs[0])) return null;
  const input = sig.inputs[0];
  const outs = sig.outputs;
  const base = { input: sizeText(input), inputName: input.name, dtype: input.dtype };
  const found = (layout: AnnotatorLayout, details: Record<string, string | number> = {}): AnnotatorModelInfo => ({
    layout,
    input,
    details: { annotator: layout, ...base, ...details },
  });

  const simccX = outs.find((o) => /simcc_x/i.test(o.name) && o.dims.length === 3);
  const simccY = outs.find((o) => /simcc_y/i.test(o.name) && o.dims.length === 3);
  if (simccX && simccY) return found('dwpose-pose', { keypoints: simccX.dims[1] });

  const paf = outs.find((o) => channels(o) === 38);
  const heat = outs.find((o) => channels(o) === 19);
  if (paf && heat && outs.length === 2) return found('openpose-body');

  const raw = outs.find((o) => o.dims.length === 3 && o.dims[2] === 85);
  if (raw) return found('dwpose-detector', { boxes: 'yolox' });

  if (outs.length === 1) {
    const out = outs[0];
    const depthLike = /depth/i.test(out.name) || input.name === 'pixel_values';
    const fixed14 = input.dims[2] > 0 && input.dims[2] % 14 === 0 && input.dims[3] % 14 === 0;
    if (out.dims.length === 3 && FLOAT_TYPES.has(out.dtype) && (depthLike || fixed14)) return found('depth-anything');
    if (isMap(out) && depthLike) return found('depth-anything');
    if (isMap(out) && /hed|edge|fuse|side/i.test(out.name)) {
      return found('hed', { outputs: 1, sigmoid: sig.outputOps[out.name] === 'Sigmoid' ? 'in model' : 'applied' });
    }
    if (isMap(out)) {
      const op = sig.outputOps[out.name];
      return found('lineart', { convention: op === 'Tanh' ? 'anime' : 'informative-drawings', lastOp: op || '?' });
    }
  }
  if (outs.length >= 2 && outs.every(isMap)) return found('hed', { outputs: outs.length, sigmoid: 'applied' });
  return null;
}

/** "inputs: x float32 [1,3,-1,-1]; outputs: y float32 [1,1,-1,-1]" for problem texts. */
export function describeSignature(sig: OnnxSignature): string {
  const list = (vs: OnnxValue[]) => (vs.length === 0 ? 'none' : vs.slice(0, 4).map(describeValue).join(', ') + (vs.length > 4 ? ', ...' : ''));
  return `inputs: ${list(sig.inputs)}; outputs: ${list(sig.outputs)}`;
}
