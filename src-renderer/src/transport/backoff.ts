// Reconnect delays for the browser-mode WebSocket: exponential with a cap, and jitter so that several
// tabs do not hammer a restarting server in lockstep. Pure, tested in backoff.test.ts.

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  baseMs: number;
  /** Longest delay, in ms. */
  maxMs: number;
  /** Fraction of the delay that is random: 0 = none, 0.5 = between 50% and 100% of the nominal delay. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 10_000, jitter: 0.3 };

/** Delay before retry number `attempt` (1 for the first retry). */
export function reconnectDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2 ** 30 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(n - 1, 30));
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.round(nominal * (1 - jitter * random()));
}
