// The noise schedule shared by every sampler, computed as diffusers 0.27.2 computes it: betas from torch
// float32 linspace, alphas_cumprod (float32, accumulated in double as torch's CPU cumprod does), sigmas
// sqrt((1 - abar) / abar) in float32, timestep spacings with numpy's rounding, Karras sigmas and diffusers'
// sigma -> timestep interpolation in log-sigma. Sampler arithmetic elsewhere is double precision on these
// float32 tables, which stays within about 1e-6 of diffusers' float32 tensors.

const f32 = Math.fround;

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

/** The fields of a diffusers scheduler config that matter for SD1.5 (names as in diffusers' JSON). */
export interface ScheduleConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: 'scaled_linear' | 'linear';
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
}

/** SD1.5's training schedule (the checkpoint's scheduler config), with diffusers' default spacing. */
export const SD15_SCHEDULE: ScheduleConfig = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  timestep_spacing: 'leading',
  steps_offset: 1,
};

export class ScheduleError extends Error {
  readonly kind = 'bad-schedule';
}

/** torch.linspace(start, end, steps, dtype=float32) on the CPU (scalar formula: from both ends). */
function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
  }
  return out;
}

/** alphas_cumprod as diffusers holds it (float32). */
export function alphasCumprod(config: ScheduleConfig): Float32Array {
  const n = config.num_train_timesteps;
  let betas: Float32Array;
  if (config.beta_schedule === 'scaled_linear') {
    betas = torchLinspaceF32(Math.sqrt(config.beta_start), Math.sqrt(config.beta_end), n).map((b) => f32(b * b));
  } else if (config.beta_schedule === 'linear') {
    betas = torchLinspaceF32(config.beta_start, config.beta_end, n);
  } else {
    throw new ScheduleError(`beta_schedule ${String(config.beta_schedule)} is not supported`);
  }
  const out = new Float32Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= f32(1 - betas[i]);
    out[i] = acc;
  }
  return out;
}

/** sqrt((1 - abar) / abar) per training timestep, float32 as torch computes it. */
export function trainingSigmas(abar: Float32Array): Float32Array {
  return abar.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** numpy's linspace: i * step + start, the last value exactly `stop`. */
export function npLinspace(start: number, stop: number, num: number, endpoint = true): number[] {
  const div = endpoint ? num - 1 : num;
  const step = (stop - start) / div;
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/** numpy's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Timesteps (descending) for `steps` inference steps, as DDIM/Euler's set_timesteps: 'leading' is
 * arange(steps) * (T // steps) + offset, 'linspace' is linspace(0, T-1, steps) (rounded when `integer`),
 * 'trailing' is arange(T, 0, -T/steps) rounded, minus 1.
 */
export function spacedTimesteps(config: ScheduleConfig, steps: number, integer: boolean): number[] {
  const T = config.num_train_timesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > T) {
    throw new ScheduleError(`steps must be an integer from 1 to ${T}, got ${steps}`);
  }
  let ts: number[];
  switch (config.timestep_spacing) {
    case 'linspace':
      ts = npLinspace(0, T - 1, steps).map((t) => (integer ? roundHalfEven(t) : f32(t)));
      break;
    case 'leading': {
      const ratio = Math.floor(T / steps);
      ts = Array.from({ length: steps }, (_, i) => i * ratio + config.steps_offset);
      break;
    }
    case 'trailing': {
      const ratio = T / steps;
      ts = Array.from({ length: steps }, (_, i) => roundHalfEven(T - i * ratio) - 1);
      break;
    }
    default:
      throw new ScheduleError(`timestep_spacing ${String(config.timestep_spacing)} is not supported`);
  }
  return config.timestep_spacing === 'trailing' ? ts : ts.reverse();
}

/**
 * The multistep solvers' spacing (DPM-Solver++, UniPC): `steps + 1` points with the last dropped, so the
 * schedule never evaluates the model at t = 0.
 */
export function multistepTimesteps(config: ScheduleConfig, steps: number): number[] {
  const T = config.num_train_timesteps;
  if (!Number.isInteger(steps) || steps < 1 || steps > T) {
    throw new ScheduleError(`steps must be an integer from 1 to ${T}, got ${steps}`);
  }
  switch (config.timestep_spacing) {
    case 'linspace':
      return npLinspace(0, T - 1, steps + 1).map(roundHalfEven).reverse().slice(0, steps);
    case 'leading': {
      const ratio = Math.floor(T / (steps + 1));
      return Array.from({ length: steps + 1 }, (_, i) => i * ratio + config.steps_offset)
        .reverse()
        .slice(0, steps);
    }
    case 'trailing': {
      const ratio = T / steps;
      return Array.from({ length: steps }, (_, i) => roundHalfEven(T - i * ratio) - 1);
    }
    default:
      throw new ScheduleError(`timestep_spacing ${String(config.timestep_spacing)} is not supported`);
  }
}

/** np.interp(x, arange(len(table)), table) for x within [0, len - 1]. */
export function interpTable(table: ArrayLike<number>, x: number): number {
  if (x <= 0) return table[0];
  if (x >= table.length - 1) return table[table.length - 1];
  const i = Math.floor(x);
  const w = x - i;
  return w === 0 ? table[i] : table[i] + (table[i + 1] - table[i]) * w;
}

/** Karras et al. (2022) sigmas, rho 7, from sigmaMax down to sigmaMin (diffusers' _convert_to_karras). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number, rho = 7): number[] {
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, steps).map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * diffusers' _sigma_to_t: the (fractional) timestep whose sigma is `sigma`, interpolating linearly in
 * log sigma between the two neighbouring training timesteps. `logSigmas` ascends with t.
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // last index whose log sigma is <= log_sigma (0 when there is none), at most len - 2
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** log of the float32 training sigmas, kept float32 as numpy does for a float32 array. */
export function logSigmaTable(sigmas: Float32Array): Float32Array {
  return sigmas.map((s) => f32(Math.log(s)));
}

/**
 * img2img's first step (diffusers get_timesteps): strength s keeps the last int(steps * s) steps.
 * Returns t_start, the number of steps skipped.
 */
export function img2imgStartStep(steps: number, strength: number): number {
  if (!(strength >= 0 && strength <= 1)) throw new ScheduleError(`strength must be in [0, 1], got ${strength}`);
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  return Math.max(steps - initTimestep, 0);
}
