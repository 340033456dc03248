// Main's side of training: datasets, runs and their 'train' jobs, behind the training methods of the contract.
// (Stub while the service is built: every method answers 'not-implemented'.)

import type { MethodInput, MethodName, MethodOutput } from '../common/contract.ts';
import { kindError } from '../app/errors.ts';

type TrainingMethod = Extract<MethodName, `training.${string}`>;
export type TrainingHandlers = { [M in TrainingMethod]: (input: MethodInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M> };

export function trainingStubHandlers(): TrainingHandlers {
  const todo = (): never => {
    throw kindError('not-implemented', 'Training is being built.');
  };
  return {
    'training.importDataset': todo,
    'training.datasets': todo,
    'training.dataset': todo,
    'training.updateCaption': todo,
    'training.calibrate': todo,
    'training.start': todo,
    'training.pause': todo,
    'training.resume': todo,
    'training.cancel': todo,
    'training.status': todo,
    'training.runs': todo,
  };
}
