// Test support: synthetic annotator models (synthetic-annotators.test-support.ts) written to a temporary folder
// and read back as the engine reads an annotator, signature and session from the file. Call
// `syntheticModelLoader(name)` at the top level of a test file: the sessions are released and the folder removed
// after the file's tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { AnnotatorLayout } from '../../common/contract.ts';
import { readOnnxSignature } from '../../formats/onnx-reader.ts';
import type { Node } from '../graph/node.ts';
import { ModelSession } from '../runtime/session.ts';
import { annotatorModel, type AnnotatorModel } from './model.ts';
import { writeModel } from './synthetic-annotators.test-support.ts';

export interface SyntheticModelLoader {
  /** The temporary folder, hintbrush-<name>-XXXXXX, the models are written to. */
  readonly dir: string;
  /** Writes the model computing `outputs` as `file` in `dir`, then loads it as an annotator of `layout`. */
  load(file: string, outputs: Record<string, Node>, layout: AnnotatorLayout): Promise<AnnotatorModel>;
}

export function syntheticModelLoader(name: string): SyntheticModelLoader {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hintbrush-${name}-`));
  const sessions: ModelSession[] = [];
  test.after(async () => {
    for (const s of sessions) await s.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    async load(file, outputs, layout) {
      const written = writeModel(path.join(dir, file), outputs);
      const session = await ModelSession.fromFile(written, { providers: ['cpu'] });
      sessions.push(session);
      return annotatorModel(file, readOnnxSignature(written), layout, session);
    },
  };
}
