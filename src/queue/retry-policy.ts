export interface RetryPolicy {
  /** First delay, ms. */
  baseMs: number;
  /** Longest delay, ms. */
  maxMs: number;
}

/**
 * Delay before attempt `attempts + 1`: base × 2^(attempts−1), capped, with ±20% jitter so that
 * messages deferred together by one outage do not all come back at the same instant.
 */
export function retryDelay(policy: RetryPolicy, attempts: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempts - 1);
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 30));
  const jitter = 0.8 + 0.4 * random();
  return Math.max(1, Math.round(raw * jitter));
}
