// Test support for generation tests: the settings of the fixture's pipeline goldens (256x256, 10 DDIM steps,
// CFG 7.5, seed 42) over the tiny checkpoint, as a run's GenerationSettings.
import type { GenerationSettings, ModelRef } from '../../common/generation-contract.ts';
import { fixture, referenceJson } from '../goldens.test-support.ts';

/** A fixture file as a model reference (no library id, a made-up hash). */
export const fixtureRef = (file: string, hash = 'abcdef1234'): ModelRef => ({ id: null, name: file.replace(/\.\w+$/, ''), hash, path: fixture(file) });

export function fixtureSettings(overrides: Partial<GenerationSettings> = {}): GenerationSettings {
  const p = referenceJson().pipeline;
  return {
    prompt: p.prompt,
    negative: p.negative,
    width: p.width,
    height: p.height,
    steps: p.steps,
    cfg: p.cfg,
    seed: p.seed,
    sampler: 'ddim',
    clipSkip: 1,
    checkpoint: fixtureRef('tiny-sd15.safetensors'),
    controls: [],
    loras: [],
    denoisingStrength: null,
    initResizeMode: null,
    inpaint: false,
    batchSize: 1,
    batchCount: 1,
    batchIndex: 0,
    ...overrides,
  };
}

