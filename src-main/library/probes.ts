// How the scanner learns what a file is, chosen by extension: weights files go through openTensorFile and
// detectModel; ONNX files go through the annotator probe (detect-annotator.ts).
// A probe may throw: the scanner turns any error into a row with kind 'unknown' and the error as its problem.
import path from 'node:path';
import { openTensorFile } from '../formats/open-tensor-file.ts';
import { TensorFileError } from '../formats/tensor-file.ts';
import { annotatorProbe } from './detect-annotator.ts';
import { DETECTOR_VERSION, detectModel } from '../model-detection/detect.ts';
import type { FileProbe, ProbeResult } from './file-probe.ts';
import { triggerWords } from './trigger-words.ts';

export type { FileProbe, ProbeResult };

export const tensorFileProbe: FileProbe = {
  name: 'tensor-file',
  version: DETECTOR_VERSION,
  extensions: ['.safetensors', '.ckpt', '.pth', '.pt', '.bin'],
  async probe(file) {
    const opened = openTensorFile(file);
    try {
      const detection = detectModel(opened);
      const metadata = { ...opened.metadata };
      return { ...detection, metadata, triggerWords: triggerWords(metadata) };
    } finally {
      opened.close();
    }
  },
};

export const defaultProbes: readonly FileProbe[] = [tensorFileProbe, annotatorProbe];

/** The probe for `file`'s extension (case-insensitive), or undefined when the scanner should skip it. */
export function probeFor(file: string, probes: readonly FileProbe[]): FileProbe | undefined {
  const ext = path.extname(file).toLowerCase();
  return probes.find((p) => p.extensions.includes(ext));
}

const FILE_ERROR_LABELS: Record<TensorFileError['kind'], string> = {
  hostile: 'hostile file',
  corrupt: 'corrupt file',
  unsupported: 'unsupported file format',
  io: 'cannot read the file',
};

/** A failed probe as a library row: kind 'unknown', the error named in `problem`. */
export function failedProbe(file: string, error: unknown): ProbeResult {
  let problem: string;
  let errorKind: string;
  if (error instanceof TensorFileError) {
    errorKind = error.kind;
    problem = `${FILE_ERROR_LABELS[error.kind] ?? error.kind}: ${withoutPath(error.message, error.file, file)}`;
  } else {
    const e = error as { code?: unknown; message?: unknown };
    errorKind = typeof e?.code === 'string' ? e.code : 'error';
    problem = `cannot read the file: ${withoutPath(String(e?.message ?? error), file, file)}`;
  }
  return {
    kind: 'unknown',
    layout: '',
    family: '',
    problem,
    details: { error: errorKind },
    metadata: {},
    triggerWords: [],
  };
}

/** The row already shows the path; drop the `<path>: ` the error message starts with. */
function withoutPath(message: string, ...paths: string[]): string {
  for (const p of paths) if (message.startsWith(`${p}: `)) return message.slice(p.length + 2);
  return message;
}
