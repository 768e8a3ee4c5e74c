import type { HeraldConfig } from '../config/settings.js';
import type { AccountLimitStore, LimitUse } from './account-limits.js';

/** How long an account's own limits are trusted before they are read again, ms: a change made with `herald accounts limits` applies within this. */
const OVERRIDES_FRESH_MS = 5000;

/** An account's limits in force: its own where set, else the settings'; 0 is unlimited. */
export interface EffectiveLimits {
  requestsPerMinute: number;
  messagesPerDay: number;
}

/**
 * The API's view of per-account limits: the settings' defaults with each account's overrides
 * laid over them (read at most every 5 s per account), and the takes against the store. An
 * unlimited limit costs nothing: no count is kept and null is returned.
 */
export class AccountRateLimits {
  private readonly cache = new Map<string, { at: number; limits: Promise<EffectiveLimits> }>();

  constructor(
    private readonly store: AccountLimitStore,
    private readonly defaults: Pick<HeraldConfig, 'accountRequestsPerMinute' | 'accountMessagesPerDay'>,
    private readonly now: () => number = Date.now,
  ) {}

  async effective(accountId: string): Promise<EffectiveLimits> {
    const at = this.now();
    const hit = this.cache.get(accountId);
    if (hit && at - hit.at < OVERRIDES_FRESH_MS) return hit.limits;
    const limits = this.store.get(accountId).then((own) => ({
      requestsPerMinute: own.requestsPerMinute ?? this.defaults.accountRequestsPerMinute,
      messagesPerDay: own.messagesPerDay ?? this.defaults.accountMessagesPerDay,
    }));
    // A failed read is not kept: the next request asks the store again.
    limits.catch(() => this.cache.delete(accountId));
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accountId, { at, limits });
    return limits;
  }

  /** Counts one API request of the account; null when its request rate is unlimited. */
  async takeRequest(accountId: string): Promise<LimitUse | null> {
    const { requestsPerMinute } = await this.effective(accountId);
    return requestsPerMinute > 0 ? this.store.takeRequest(accountId, requestsPerMinute, this.now()) : null;
  }

  /** Counts `count` messages against the account's daily quota; null when it has none. */
  async reserveMessages(accountId: string, count: number): Promise<(LimitUse & { reservedAt: number }) | null> {
    const { messagesPerDay } = await this.effective(accountId);
    if (messagesPerDay <= 0) return null;
    const reservedAt = this.now();
    return { ...(await this.store.reserveMessages(accountId, count, messagesPerDay, reservedAt)), reservedAt };
  }

  async releaseMessages(accountId: string, count: number, reservedAt: number): Promise<void> {
    await this.store.releaseMessages(accountId, count, reservedAt);
  }
}
