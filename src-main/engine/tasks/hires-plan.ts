// The 'generate' task's hires fix: a run's HiresSettings turned into the pipeline's HiresPlan. An ONNX upscaler
// from the library is opened here (its signature read again, a session made on the job's provider, its scale
// found by a probe run) and released when the job ends; the control hints are made again at the target size.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { hiresTarget, isLatentUpscaler, LATENT_UPSCALERS, type HiresSettings } from '../../common/hires-contract.ts';
import type { GenerationSettings } from '../../common/generation-contract.ts';
import { readOnnxSignature } from '../../formats/onnx-reader.ts';
import { TensorFileError } from '../../formats/tensor-file.ts';
import type { ControlUnit } from '../pipeline/control-units.ts';
import type { HiresPlan, HiresUpscale } from '../pipeline/hires-fix.ts';
import { ImageUpscaler } from '../pipeline/image-upscaler.ts';
import { TaskError } from '../protocol.ts';
import { ModelSession, type ProviderName } from '../runtime/session.ts';

export interface OpenedHiresPlan {
  plan: HiresPlan;
  /** Releases the upscaler's session (nothing for the built-in upscalers). */
  release(): Promise<void>;
}

async function openUpscaler(h: HiresSettings, provider: string): Promise<{ upscale: HiresUpscale; session: ModelSession | null }> {
  if (isLatentUpscaler(h.upscaler)) return { upscale: { kind: 'latent', ...LATENT_UPSCALERS[h.upscaler] }, session: null };
  if (h.upscaler === 'Lanczos') return { upscale: { kind: 'lanczos' }, session: null };
  const file = h.model?.path ?? '';
  if (!file || !existsSync(file)) throw new TaskError('model-missing', `The upscaler ${file || '(none named)'} does not exist (moved or deleted? rescan the library).`);
  const name = path.basename(file);
  let sig;
  try {
    sig = readOnnxSignature(file);
  } catch (err) {
    if (err instanceof TensorFileError) throw new TaskError('wrong-model', `${name} is not an image upscaler: ${err.message}`);
    throw err;
  }
  const providers: ProviderName[] = provider === 'cpu' ? ['cpu'] : [provider as ProviderName, 'cpu'];
  const session = await ModelSession.fromFile(file, { providers });
  try {
    return { upscale: { kind: 'model', upscaler: await ImageUpscaler.open(name, sig, session) }, session };
  } catch (err) {
    await session.release();
    throw err;
  }
}

/** The plan for `s.hires`; `controlsAt` makes the run's control units at a given size. */
export async function openHiresPlan(s: GenerationSettings & { hires: HiresSettings }, provider: string, controlsAt: (width: number, height: number) => ControlUnit[]): Promise<OpenedHiresPlan> {
  const h = s.hires;
  const target = hiresTarget(s.width, s.height, h);
  const { upscale, session } = await openUpscaler(h, provider);
  return {
    plan: { target, upscale, steps: h.steps, denoise: h.denoise, controls: controlsAt(target.width, target.height) },
    release: async () => {
      await session?.release();
    },
  };
}
