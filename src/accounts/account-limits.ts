/**
 * An account's own limits; a null field follows the settings (`accountRequestsPerMinute`,
 * `accountMessagesPerDay`), 0 is unlimited.
 */
export interface AccountLimits {
  requestsPerMinute: number | null;
  messagesPerDay: number | null;
}

/** Where a limit stands after a take, as SendGrid's `X-RateLimit-*` headers report it. */
export interface LimitUse {
  /** Whether the take fitted under the limit (a refused take changes nothing that counts). */
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms the window ends and the count starts again. */
  resetAt: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** The fixed request window `now` falls in: a UTC minute. */
export function minuteWindow(now: number): { start: number; resetAt: number } {
  const start = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  return { start, resetAt: start + MINUTE_MS };
}

/** The UTC day `now` falls in, as `YYYY-MM-DD`, and when it ends. */
export function utcDay(now: number): { day: string; resetAt: number } {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), resetAt: start + DAY_MS };
}

/**
 * The account-limits port: per-account overrides, the request-rate window and the daily message
 * quota. Every count is per account: one account's traffic never uses another's allowance.
 */
export interface AccountLimitStore {
  /** The account's own limits (nulls when none are set). */
  get(accountId: string): Promise<AccountLimits>;
  /** Replaces the account's own limits; nulls go back to the settings. */
  set(accountId: string, limits: AccountLimits): Promise<void>;
  /**
   * Counts one API request in the account's current minute (shared by every process on the
   * store); not allowed once the minute has had `perMinute` requests. `perMinute` > 0.
   */
  takeRequest(accountId: string, perMinute: number, now?: number): Promise<LimitUse>;
  /**
   * Counts `count` messages against the account's quota for the UTC day of `now`, durably and
   * atomically: all of them when they fit under `perDay`, none otherwise. `perDay` > 0.
   */
  reserveMessages(accountId: string, count: number, perDay: number, now?: number): Promise<LimitUse>;
  /** Gives back messages reserved at `reservedAt` that were then not accepted (the write failed). */
  releaseMessages(accountId: string, count: number, reservedAt: number): Promise<void>;
  /** Messages counted against the account on the UTC day of `now`. */
  messagesOn(accountId: string, now?: number): Promise<number>;
}
