// The samplers Hintbrush offers, their diffusers configurations for SD1.5 and their A1111 names. The four
// configurations the fixtures were made with (ddim, euler, euler_a, dpmpp_2m_karras) are those of
// test/fixtures/sd15-tiny/reference.json; the others follow diffusers' defaults on SD1.5's betas.
import { DdimSampler, type DdimConfig } from './ddim.ts';
import { DpmSolverMultistepSampler, type DpmSolverConfig } from './dpmpp-2m.ts';
import { DpmSdeSampler, type DpmSdeConfig } from './dpmpp-sde.ts';
import { EulerSampler, type EulerConfig } from './euler.ts';
import { LcmSampler, type LcmConfig } from './lcm.ts';
import { A1111_SAMPLER_NAMES } from '../../common/generation-contract.ts';
import type { Sampler, SamplerKind } from './sampler.ts';
import { SD15_SCHEDULE } from './schedule.ts';
import { UniPcSampler, type UniPcConfig } from './unipc.ts';

export type { Sampler, SamplerKind, SampleOptions, DenoiseFn, DenoiseInfo, StepReport, SamplerRun } from './sampler.ts';
export { SamplerError, runSampler, velocityToEpsilon } from './sampler.ts';
export { img2imgStartStep, alphasCumprod, trainingSigmas, karrasSigmas, SD15_SCHEDULE } from './schedule.ts';
export type { ScheduleConfig, TimestepSpacing } from './schedule.ts';
export { DdimSampler, EulerSampler, DpmSolverMultistepSampler, DpmSdeSampler, UniPcSampler, LcmSampler };

export const SAMPLER_CONFIGS = {
  ddim: { ...SD15_SCHEDULE, set_alpha_to_one: false, clip_sample: false, clip_sample_range: 1 } as DdimConfig,
  euler: { ...SD15_SCHEDULE, use_karras_sigmas: false } as EulerConfig,
  euler_a: { ...SD15_SCHEDULE, use_karras_sigmas: false } as EulerConfig,
  dpmpp_2m: {
    ...SD15_SCHEDULE,
    timestep_spacing: 'linspace',
    use_karras_sigmas: false,
    solver_order: 2,
    lower_order_final: true,
    final_sigmas_type: 'zero',
  } as DpmSolverConfig,
  dpmpp_2m_karras: {
    ...SD15_SCHEDULE,
    timestep_spacing: 'linspace',
    use_karras_sigmas: true,
    solver_order: 2,
    lower_order_final: true,
    final_sigmas_type: 'zero',
  } as DpmSolverConfig,
  dpmpp_sde_karras: { ...SD15_SCHEDULE, timestep_spacing: 'linspace', use_karras_sigmas: true } as DpmSdeConfig,
  unipc: {
    ...SD15_SCHEDULE,
    timestep_spacing: 'linspace',
    use_karras_sigmas: false,
    lower_order_final: true,
  } as UniPcConfig,
  lcm: { ...SD15_SCHEDULE, original_inference_steps: 50, timestep_scaling: 10, set_alpha_to_one: false } as LcmConfig,
} as const satisfies Record<SamplerKind, object>;

export const SAMPLER_KINDS = Object.keys(SAMPLER_CONFIGS) as SamplerKind[];

/** A sampler for `steps` inference steps; `overrides` change fields of its diffusers config. */
export function createSampler(kind: SamplerKind, steps: number, overrides: Record<string, unknown> = {}): Sampler {
  switch (kind) {
    case 'ddim':
      return new DdimSampler(steps, { ...SAMPLER_CONFIGS.ddim, ...overrides });
    case 'euler':
    case 'euler_a':
      return new EulerSampler(kind, steps, { ...SAMPLER_CONFIGS[kind], ...overrides });
    case 'dpmpp_2m':
    case 'dpmpp_2m_karras':
      return new DpmSolverMultistepSampler(kind, steps, { ...SAMPLER_CONFIGS[kind], ...overrides });
    case 'dpmpp_sde_karras':
      return new DpmSdeSampler(steps, { ...SAMPLER_CONFIGS.dpmpp_sde_karras, ...overrides });
    case 'unipc':
      return new UniPcSampler(steps, { ...SAMPLER_CONFIGS.unipc, ...overrides });
    case 'lcm':
      return new LcmSampler(steps, { ...SAMPLER_CONFIGS.lcm, ...overrides });
    default:
      throw new RangeError(`unknown sampler ${String(kind)}`);
  }
}


/**
 * The sampler an A1111 "Sampler" (and, from v1.9, "Schedule type") names, or null when Hintbrush has none.
 * "DPM++ 2M" with schedule "Karras" is dpmpp_2m_karras, like the older "DPM++ 2M Karras".
 */
export function samplerFromA1111(sampler: string, scheduleType = ''): SamplerKind | null {
  const karras = scheduleType.trim().toLowerCase() === 'karras';
  const name = sampler.trim();
  const combined = karras && !/karras$/i.test(name) ? `${name} Karras` : name;
  for (const [kind, label] of Object.entries(A1111_SAMPLER_NAMES)) {
    if (label.toLowerCase() === combined.toLowerCase()) return kind as SamplerKind;
  }
  if (karras) return samplerFromA1111(name);
  return null;
}
