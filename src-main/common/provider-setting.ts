// The artist's choice of execution provider and GPU, remembered in the library database (settings table) and
// sent to the engine, which uses it for every session it creates. 'auto' lets the engine pick the best
// provider that works here (engine-process.ts chooseProvider). Pure module: main, renderer and engine use it.
import { ContractError } from './errors.ts';

export const PROVIDER_CHOICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];

export interface ProviderSetting {
  provider: ProviderChoice;
  /** The GPU for CUDA and DirectML, counted from 0 as nvidia-smi / DXGI list them; ignored by the others. */
  deviceId: number;
}

export const DEFAULT_PROVIDER_SETTING: Readonly<ProviderSetting> = Object.freeze({ provider: 'auto', deviceId: 0 });
/** Providers whose device the setting chooses. */
export const DEVICE_PROVIDERS: readonly ProviderChoice[] = ['cuda', 'dml'];
/** More GPUs than any workstation holds: a larger id is a typo, not a device. */
export const MAX_DEVICE_ID = 15;

/** Checks a setting that crossed a boundary (renderer, database); throws ContractError naming the field. */
export function validateProviderSetting(input: unknown, method = 'engine.setProvider'): ProviderSetting {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ContractError(`${method}: input must be an object`);
  const r = input as Record<string, unknown>;
  const extra = Object.keys(r).find((k) => k !== 'provider' && k !== 'deviceId');
  if (extra) throw new ContractError(`${method}: unknown field ${JSON.stringify(extra).slice(0, 60)}`);
  if (typeof r.provider !== 'string' || !(PROVIDER_CHOICES as readonly string[]).includes(r.provider)) {
    throw new ContractError(`${method}: provider must be one of ${PROVIDER_CHOICES.join(', ')}`);
  }
  const deviceId = r.deviceId ?? 0;
  if (typeof deviceId !== 'number' || !Number.isSafeInteger(deviceId) || deviceId < 0 || deviceId > MAX_DEVICE_ID) {
    throw new ContractError(`${method}: deviceId must be an integer from 0 to ${MAX_DEVICE_ID}`);
  }
  return { provider: r.provider as ProviderChoice, deviceId };
}
