import { minuteWindow, utcDay, type AccountLimits, type AccountLimitStore, type LimitUse } from '../../accounts/account-limits.js';
import type { PgDatabase } from './pg-database.js';

/**
 * Account limits shared by every process of a cluster, each count taken in one atomic statement
 * (`INSERT … ON CONFLICT DO UPDATE` locks the row, as PostgresRateLimiter's token buckets do), so
 * two processes never both take the last request of a minute or the last message of a day.
 */
export class PostgresAccountLimits implements AccountLimitStore {
  /**
   * @param db the synchronous-commit pool: a counted message must stay counted across a crash.
   * @param relaxed a pool without commit waits, for the request windows (losing the last of a
   *   minute's counts to a database crash gives away at most that minute).
   */
  constructor(
    private readonly db: PgDatabase,
    private readonly relaxed: PgDatabase = db,
  ) {}

  async get(accountId: string): Promise<AccountLimits> {
    if (accountId.includes('\0')) return { requestsPerMinute: null, messagesPerDay: null };
    const [row] = await this.db.query<{ rpm: number | null; mpd: number | null }>(
      'SELECT requests_per_minute AS rpm, messages_per_day AS mpd FROM account_limits WHERE account_id = $1',
      [accountId],
    );
    return { requestsPerMinute: row?.rpm ?? null, messagesPerDay: row?.mpd ?? null };
  }

  async set(accountId: string, limits: AccountLimits): Promise<void> {
    if (limits.requestsPerMinute === null && limits.messagesPerDay === null) {
      await this.db.query('DELETE FROM account_limits WHERE account_id = $1', [accountId]);
      return;
    }
    await this.db.query(
      `INSERT INTO account_limits (account_id, requests_per_minute, messages_per_day, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id) DO UPDATE SET requests_per_minute = EXCLUDED.requests_per_minute,
         messages_per_day = EXCLUDED.messages_per_day, updated_at = EXCLUDED.updated_at`,
      [accountId, limits.requestsPerMinute, limits.messagesPerDay, Date.now()],
    );
  }

  async takeRequest(accountId: string, perMinute: number, now = Date.now()): Promise<LimitUse> {
    const { start } = minuteWindow(now);
    // A request counts in the newest window any process has opened: a host whose clock is behind
    // counts into the current minute rather than reopening an old one.
    const [row] = await this.relaxed.query<{ requests: number; window_start: number }>(
      `INSERT INTO account_request_windows AS w (account_id, window_start, requests) VALUES ($1, $2, 1)
       ON CONFLICT (account_id) DO UPDATE SET
         requests = CASE WHEN EXCLUDED.window_start > w.window_start THEN 1 ELSE w.requests + 1 END,
         window_start = GREATEST(w.window_start, EXCLUDED.window_start)
       RETURNING requests, window_start`,
      [accountId, start],
    );
    const requests = Number(row!.requests);
    return { allowed: requests <= perMinute, limit: perMinute, remaining: Math.max(0, perMinute - requests), resetAt: Number(row!.window_start) + 60_000 };
  }

  async reserveMessages(accountId: string, count: number, perDay: number, now = Date.now()): Promise<LimitUse> {
    const { day, resetAt } = utcDay(now);
    // All or nothing in one statement: the row is counted up only when the sum stays under the quota.
    const [row] = await this.db.query<{ messages: number }>(
      `INSERT INTO account_daily_usage AS u (account_id, day, messages) SELECT $1, $2, $3::integer WHERE $3::integer <= $4::integer
       ON CONFLICT (account_id, day) DO UPDATE SET messages = u.messages + EXCLUDED.messages
         WHERE u.messages + EXCLUDED.messages <= $4::integer
       RETURNING messages`,
      [accountId, day, count, perDay],
    );
    if (row) return { allowed: true, limit: perDay, remaining: perDay - Number(row.messages), resetAt };
    const used = await this.messagesOn(accountId, now);
    return { allowed: false, limit: perDay, remaining: Math.max(0, perDay - used), resetAt };
  }

  async releaseMessages(accountId: string, count: number, reservedAt: number): Promise<void> {
    await this.db.query('UPDATE account_daily_usage SET messages = GREATEST(0, messages - $1) WHERE account_id = $2 AND day = $3', [count, accountId, utcDay(reservedAt).day]);
  }

  async messagesOn(accountId: string, now = Date.now()): Promise<number> {
    if (accountId.includes('\0')) return 0;
    const [row] = await this.db.query<{ messages: number }>('SELECT messages FROM account_daily_usage WHERE account_id = $1 AND day = $2', [accountId, utcDay(now).day]);
    return Number(row?.messages ?? 0);
  }
}
