/**
 * Sign-in attempts per address and per client IP: after `maxFailures` failures within `windowMs`
 * the key is locked for the rest of the window (OWASP Authentication Cheat Sheet, "Login
 * Throttling"). Per process and in memory: a cluster of K API processes allows K times as many
 * guesses, still far too few for a password of `MIN_PASSWORD_LENGTH` characters. Bounded: past
 * `maxKeys` entries the oldest are forgotten.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Milliseconds until any of `keys` may try again; 0 when none is locked. */
  lockedFor(keys: string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const entry = this.failures.get(key);
      if (!entry) continue;
      if (now - entry.since >= this.windowMs) {
        this.failures.delete(key);
        continue;
      }
      if (entry.count >= this.maxFailures) wait = Math.max(wait, entry.since + this.windowMs - now);
    }
    return wait;
  }

  fail(keys: string[]): void {
    const now = this.now();
    for (const key of keys) {
      const entry = this.failures.get(key);
      if (entry && now - entry.since < this.windowMs) entry.count++;
      else {
        this.failures.delete(key);
        this.failures.set(key, { count: 1, since: now });
      }
    }
    while (this.failures.size > this.maxKeys) this.failures.delete(this.failures.keys().next().value!);
  }

  /** A successful sign-in clears the address's count (not the IP's: one good account does not excuse guessing others). */
  succeed(key: string): void {
    this.failures.delete(key);
  }
}
