// The library's probe for `.onnx` files: reads the graph's signature with the bounded ONNX reader and records
// annotators (depth, DWPose, OpenPose, lineart, HED) as kind 'annotator' with the annotator as the layout,
// and image upscalers (one RGB image in, one out) as kind 'upscaler'.
// Any other ONNX model stays 'unknown' with a note; a corrupt or hostile file becomes a row whose problem
// names what is wrong, never an exception out of the scan.
import { ANNOTATOR_MODELS } from '../common/annotator-guide.ts';
import { classifyAnnotator, describeSignature } from '../model-detection/classify-annotator.ts';
import { readOnnxSignature, type OnnxSignature } from '../formats/onnx-reader.ts';
import { TensorFileError } from '../formats/tensor-file.ts';
import { upscalerSignatureProblem } from '../engine/pipeline/image-upscaler.ts';
import type { FileProbe, ProbeResult } from './file-probe.ts';

/** Version 1 was the placeholder that recorded every ONNX file as unknown; version 2 did not know upscalers. Older rows are re-probed. */
export const ANNOTATOR_PROBE_VERSION = 3;

const ERROR_LABELS: Record<TensorFileError['kind'], string> = {
  hostile: 'hostile file',
  corrupt: 'corrupt file',
  unsupported: 'unsupported file format',
  io: 'cannot read the file',
};

function row(partial: Pick<ProbeResult, 'kind' | 'layout' | 'problem' | 'details'>): ProbeResult {
  return { family: '', metadata: {}, triggerWords: [], ...partial };
}

function facts(sig: OnnxSignature): Record<string, string | number> {
  const details: Record<string, string | number> = {
    format: 'onnx',
    opset: sig.opset,
    irVersion: sig.irVersion,
    nodes: sig.nodeCount,
    initializers: sig.initializerCount,
  };
  if (sig.producer) details.producer = sig.producer;
  if (sig.externalData) details.externalData = 'yes';
  return details;
}

/** What `file` is, as a library row. Never throws for a bad file. */
export function probeOnnxFile(file: string): ProbeResult {
  let sig: OnnxSignature;
  try {
    sig = readOnnxSignature(file);
  } catch (error) {
    if (!(error instanceof TensorFileError)) throw error; // the scanner records anything else as unreadable
    const message = error.message.startsWith(`${file}: `) ? error.message.slice(file.length + 2) : error.message;
    return row({ kind: 'unknown', layout: 'onnx', problem: `${ERROR_LABELS[error.kind]}: ${message}`, details: { format: 'onnx', error: error.kind } });
  }
  if (!sig.hasGraph) {
    return row({ kind: 'unknown', layout: 'onnx', problem: 'an ONNX file without a graph: not an annotator Hintbrush recognises', details: facts(sig) });
  }
  const info = classifyAnnotator(sig);
  if (!info && !upscalerSignatureProblem(sig)) {
    // an image in, an image out: an ESRGAN-family upscaler (its scale is found by a probe run when used)
    return row({ kind: 'upscaler', layout: 'onnx', problem: '', details: { ...facts(sig), role: 'Image upscaler (hires fix)' } });
  }
  if (!info) {
    return row({
      kind: 'unknown',
      layout: 'onnx',
      problem: `an ONNX model that is not an annotator Hintbrush recognises (${describeSignature(sig)})`,
      details: facts(sig),
    });
  }
  return row({
    kind: 'annotator',
    layout: info.layout,
    problem: '',
    details: { ...facts(sig), ...info.details, role: ANNOTATOR_MODELS[info.layout].label },
  });
}

export const annotatorProbe: FileProbe = {
  name: 'onnx-annotator',
  version: ANNOTATOR_PROBE_VERSION,
  extensions: ['.onnx'],
  async probe(file) {
    return probeOnnxFile(file);
  },
};
