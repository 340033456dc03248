// The live-mode part of the contract (contract.ts lists the methods): while live mode is on, the studio asks
// for a quick picture after each pause in painting. A live picture is made like any generation (the same
// request shape, models resolved against the library, the same engine task) but it stays out of the history:
// main keeps the last few in memory, the studio shows the newest in its live layer, and "Keep" records one in
// the history as a normal generation. Pure module: no Node, Electron or DOM imports.

import type { GenerateInput, GenerationSettings } from './generation-contract.ts';
import { validateGenerateInput } from './generation-contract.ts';
import { ContractError } from './errors.ts';
import { fields } from './field-validators.ts';

/** The picture of a finished live job (`live.result`). */
export interface LivePicture {
  jobId: string;
  width: number;
  height: number;
  seed: number;
  /** The PNG with its A1111 `parameters` text, as a history picture would carry it. */
  pngBase64: string;
  settings: GenerationSettings;
}

/** A live request is a generation request of one picture (a batch makes no sense for a preview). */
export function validateLiveStart(input: unknown): GenerateInput {
  let checked: GenerateInput;
  try {
    checked = validateGenerateInput(input);
  } catch (err) {
    if (err instanceof ContractError) throw new ContractError(`live.start: ${err.message.replace(/^generate\.start: /, '')}`);
    throw err;
  }
  if (checked.batchSize !== 1 || checked.batchCount !== 1) throw new ContractError('live.start: a live picture is one picture (batchSize and batchCount 1)');
  return checked;
}

export function validateLiveJob(method: string): (input: unknown) => { jobId: string } {
  return (input) => {
    const jobId = fields(input, method, ['jobId']).jobId;
    if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 200) throw new ContractError(`${method}: jobId must be a string of 1 to 200 characters`);
    return { jobId };
  };
}
