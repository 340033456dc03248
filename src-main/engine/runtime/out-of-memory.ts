// What to tell the artist when a job runs out of memory: the size that did not fit, and the next smaller step
// that may. The engine takes one step itself (a VAE decode that does not fit is done again in tiles,
// pipeline/model-runtime.ts); past that, the step is the user's: a smaller batch, a lower resolution, half
// precision, or (training) recomputation. The texts that count as out of memory are provider-diagnosis.ts'
// isOutOfMemory (CUDA, DirectML, WebGPU and the CPU's allocation failures).
import { EngineRunError } from './session.ts';

/** Where the memory ran out, when it changes the advice. */
export type OutOfMemoryStage = 'vae-tiled';

/** An out-of-memory that happened after the engine had already taken its own smaller step. */
export class SteppedDownOutOfMemory extends EngineRunError {
  constructor(
    readonly stage: OutOfMemoryStage,
    message: string,
  ) {
    super('out-of-memory', message);
  }
}

const PROVIDER_NAMES: Record<string, string> = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', cpu: 'the CPU' };
const providerName = (p: string) => PROVIDER_NAMES[p] ?? p;

/**
 * The next smaller generation size: each side about three quarters (about half the pixels, since activations
 * and attention grow with the pixel count), a multiple of 64, at least 256. Null when already at the floor.
 */
export function smallerSize(width: number, height: number): { width: number; height: number } | null {
  const step = (side: number) => Math.max(256, Math.floor((side * 0.75) / 64) * 64);
  const next = { width: step(width), height: step(height) };
  return next.width < width || next.height < height ? next : null;
}

export interface GenerationOom {
  width: number;
  height: number;
  batchSize: number;
  provider: string;
  compute: 'float16' | 'float32';
}

/** The sentence for a generation that ran out of memory: what did not fit, then the next smaller step. */
export function generationOomMessage(g: GenerationOom, err: EngineRunError): string {
  const where = g.provider === 'cpu' ? 'memory' : `GPU memory (${providerName(g.provider)})`;
  const tiled = err instanceof SteppedDownOutOfMemory && err.stage === 'vae-tiled' ? ' The VAE already decoded in tiles.' : '';
  const head = `Out of ${where} generating ${g.width}x${g.height} with batch size ${g.batchSize} in ${g.compute}.${tiled}`;
  const smaller = smallerSize(g.width, g.height);
  let next: string;
  if (g.batchSize > 1) next = `generate with batch size 1 (batch count ${g.batchSize} makes as many pictures, one at a time)`;
  else if (g.compute === 'float32' && g.provider !== 'cpu') next = 'compute in fp16 (half precision): about half the memory';
  else if (smaller) next = `lower the size to ${smaller.width}x${smaller.height}`;
  else next = `close other programs that use the ${g.provider === 'cpu' ? 'memory' : 'GPU'}`;
  return `${head} Next smaller step: ${next}. (${err.message})`;
}

export interface TrainingOom {
  resolution: number;
  batchSize: number;
  rank: number;
  recompute: boolean;
  provider: string;
  compute: 'float16' | 'float32';
}

/** The sentence for a training step that ran out of memory. */
export function trainingOomMessage(t: TrainingOom, err: EngineRunError): string {
  const where = t.provider === 'cpu' ? 'memory' : `GPU memory (${providerName(t.provider)})`;
  const head = `Out of ${where} training at ${t.resolution} px with batch size ${t.batchSize}, rank ${t.rank}, ${t.recompute ? 'recomputation on' : 'recomputation off'}, in ${t.compute}.`;
  let next: string;
  if (!t.recompute) next = 'turn recomputation on (activations are recomputed in the backward pass: far less memory for about a third more time)';
  else if (t.batchSize > 1) next = 'train with batch size 1';
  else if (t.compute === 'float32' && t.provider !== 'cpu') next = 'train in fp16 (mixed precision)';
  else if (t.resolution > 256) next = `lower the resolution to ${t.resolution - 128} px`;
  else next = `close other programs that use the ${t.provider === 'cpu' ? 'memory' : 'GPU'}`;
  return `${head} Next smaller step: ${next}. (${err.message})`;
}
