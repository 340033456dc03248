// One annotator model ready to run: its signature (read from the file), what it was recognised as, and
// something that runs it (a ModelSession in the engine; tests pass sessions of graphs they emitted).
// Feeds and results are float32 here whatever the file uses; float16 models are converted at the border.

import { float16ToFloat32, float32ToFloat16 } from '../../formats/dtype-convert.ts';
import type { TensorData } from '../runtime/session.ts';
import type { AnnotatorLayout } from '../../common/contract.ts';
import { classifyAnnotator, describeSignature, type AnnotatorModelInfo } from '../../model-detection/classify-annotator.ts';
import type { OnnxSignature } from '../../formats/onnx-reader.ts';

export interface AnnotatorRunner {
  run(feeds: Record<string, TensorData>): Promise<Record<string, TensorData>>;
}

export interface AnnotatorModel {
  /** For error messages: the file's name. */
  name: string;
  sig: OnnxSignature;
  info: AnnotatorModelInfo;
  runner: AnnotatorRunner;
}

export interface FloatTensor {
  dims: number[];
  data: Float32Array;
}

export class AnnotatorError extends Error {
  constructor(
    readonly kind: 'wrong-model' | 'model-output' | 'no-picture',
    message: string,
  ) {
    super(message);
  }
}

/** Recognises `sig` again and checks it is a `layout` model (the file may have changed since the scan). */
export function checkAnnotator(name: string, sig: OnnxSignature, layout: AnnotatorLayout): AnnotatorModelInfo {
  const info = classifyAnnotator(sig);
  if (!info || info.layout !== layout) {
    const now = info ? `a ${info.layout} model` : `not an annotator (${describeSignature(sig)})`;
    throw new AnnotatorError('wrong-model', `${name}: expected a ${layout} model, but the file is ${now}; rescan the library`);
  }
  return info;
}

export function annotatorModel(name: string, sig: OnnxSignature, layout: AnnotatorLayout, runner: AnnotatorRunner): AnnotatorModel {
  return { name, sig, info: checkAnnotator(name, sig, layout), runner };
}

/** The fixed spatial size of the model's image input, or null where it is free. */
export function fixedInputSize(model: AnnotatorModel): { width: number; height: number } | null {
  const [, , h, w] = model.info.input.dims;
  return h > 0 && w > 0 ? { width: w, height: h } : null;
}

/** Runs the model on one NCHW image [1, 3, H, W]; every output as float32, by name. */
export async function runImage(model: AnnotatorModel, image: Float32Array, height: number, width: number): Promise<Record<string, FloatTensor>> {
  const input = model.info.input;
  const dims = [1, 3, height, width];
  const feed: TensorData =
    input.dtype === 'float16'
      ? { dtype: 'float16', shape: dims, data: float32ToFloat16(image) }
      : { dtype: 'float32', shape: dims, data: image };
  const results = await model.runner.run({ [input.name]: feed });
  const out: Record<string, FloatTensor> = {};
  for (const value of model.sig.outputs) {
    const t = results[value.name];
    if (!t) continue;
    let data: Float32Array;
    if (t.data instanceof Float32Array) data = t.data;
    else if (t.dtype === 'float16' && t.data instanceof Uint16Array) data = float16ToFloat32(t.data);
    else continue; // not a map (e.g. int64 labels); output() names it if a caller needs it
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new AnnotatorError('model-output', `${model.name}: output '${value.name}' has a wrong size`);
    out[value.name] = { dims: [...t.shape], data };
  }
  return out;
}

/** The output named `name`, or a clear error. */
export function output(model: AnnotatorModel, outputs: Record<string, FloatTensor>, name: string): FloatTensor {
  const t = outputs[name];
  if (!t) throw new AnnotatorError('model-output', `${model.name}: the model gave no float output '${name}'`);
  return t;
}

/** Throws when `t` is not shaped as the caller expects (a wrong model slipped through recognition). */
export function expectDims(model: AnnotatorModel, t: FloatTensor, what: string, check: (dims: number[]) => boolean): void {
  if (!check(t.dims)) throw new AnnotatorError('model-output', `${model.name}: ${what} has an unexpected shape [${t.dims.join(',')}]`);
}
