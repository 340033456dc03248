// Before a graph is built from a file, the file must be the kind of model the role needs: a generation that is
// handed an SDXL checkpoint, a LoRA where a ControlNet belongs, or a hostile pickle fails here with a sentence
// naming the file and the problem, using the library's detectors (key names and shapes only).

import path from 'node:path';
import type { ModelKind } from '../../common/contract.ts';
import type { TensorFile } from '../../formats/tensor-file.ts';
import { detectModel } from '../../model-detection/detect.ts';

export type ModelRole = 'checkpoint' | 'controlnet' | 'lora' | 'ctrlora-base' | 'ctrlora-lora' | 'cnxs' | 'vae';

const ACCEPTED: Record<ModelRole, readonly ModelKind[]> = {
  checkpoint: ['checkpoint'],
  controlnet: ['controlnet'],
  lora: ['lora'],
  'ctrlora-base': ['ctrlora-base'],
  'ctrlora-lora': ['ctrlora-lora'],
  cnxs: ['cnxs'],
  vae: ['vae'],
};

const ROLE_NAMES: Record<ModelRole, string> = {
  checkpoint: 'an SD1.5 checkpoint',
  controlnet: 'a ControlNet',
  lora: 'a LoRA',
  'ctrlora-base': 'a CtrLoRA Base ControlNet',
  'ctrlora-lora': 'a CtrLoRA condition LoRA',
  cnxs: 'a ControlNet-XS',
  vae: 'a standalone SD1.5 VAE',
};

export class ModelCheckError extends Error {
  constructor(
    readonly kind: 'unsupported-model' | 'wrong-model',
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelCheckError';
  }
}

/** Throws unless `file` can serve as `role`; the message names the file, what it is and what was needed. */
export function checkModelRole(file: TensorFile, role: ModelRole): void {
  const d = detectModel(file);
  const name = path.basename(file.path);
  if (d.kind === 'unsupported') throw new ModelCheckError('unsupported-model', file.path, `${name}: ${d.problem}`);
  if (!ACCEPTED[role].includes(d.kind)) {
    const what = d.kind === 'unknown' ? 'not a model Hintbrush recognises' : `a ${d.kind} model`;
    throw new ModelCheckError('wrong-model', file.path, `${name} is ${what}, but ${ROLE_NAMES[role]} is needed here`);
  }
  if (d.problem) throw new ModelCheckError('unsupported-model', file.path, `${name}: ${d.problem}`);
}
