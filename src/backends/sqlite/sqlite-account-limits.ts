import type Database from 'better-sqlite3';
import { minuteWindow, utcDay, type AccountLimits, type AccountLimitStore, type LimitUse } from '../../accounts/account-limits.js';
import type { GroupCommitter } from './group-commit.js';

interface LimitsRow {
  requests_per_minute: number | null;
  messages_per_day: number | null;
}

/**
 * Account limits in the embedded store. The request windows are counted in this process's
 * memory: one process owns a SQLite data directory, so its count is the whole count, and a
 * restart forgetting a minute's requests gives away at most one minute. The daily message
 * quota is on disk, counted through the durable connection's group commit before the messages
 * are written: a crash in between counts messages that were not accepted, never the reverse.
 */
export class SqliteAccountLimits implements AccountLimitStore {
  private readonly windows = new Map<string, { start: number; requests: number }>();
  private readonly stmt;

  constructor(
    db: Database.Database,
    private readonly committer: GroupCommitter,
  ) {
    this.stmt = {
      get: db.prepare('SELECT requests_per_minute, messages_per_day FROM account_limits WHERE account_id = ?'),
      upsert: db.prepare(`INSERT INTO account_limits (account_id, requests_per_minute, messages_per_day, updated_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (account_id) DO UPDATE SET requests_per_minute = excluded.requests_per_minute,
          messages_per_day = excluded.messages_per_day, updated_at = excluded.updated_at`),
      remove: db.prepare('DELETE FROM account_limits WHERE account_id = ?'),
      used: db.prepare('SELECT messages FROM account_daily_usage WHERE account_id = ? AND day = ?'),
      add: db.prepare(`INSERT INTO account_daily_usage (account_id, day, messages) VALUES (@account, @day, @count)
        ON CONFLICT (account_id, day) DO UPDATE SET messages = messages + excluded.messages`),
      giveBack: db.prepare('UPDATE account_daily_usage SET messages = MAX(0, messages - ?) WHERE account_id = ? AND day = ?'),
      // Yesterday's row is all a refusal or a header ever needs; older ones go as days pass.
      forget: db.prepare('DELETE FROM account_daily_usage WHERE account_id = ? AND day < ?'),
    };
  }

  async get(accountId: string): Promise<AccountLimits> {
    const row = this.stmt.get.get(accountId) as LimitsRow | undefined;
    return { requestsPerMinute: row?.requests_per_minute ?? null, messagesPerDay: row?.messages_per_day ?? null };
  }

  async set(accountId: string, limits: AccountLimits): Promise<void> {
    await this.committer.submit(() => {
      if (limits.requestsPerMinute === null && limits.messagesPerDay === null) this.stmt.remove.run(accountId);
      else this.stmt.upsert.run(accountId, limits.requestsPerMinute, limits.messagesPerDay, Date.now());
    });
  }

  async takeRequest(accountId: string, perMinute: number, now = Date.now()): Promise<LimitUse> {
    const { start, resetAt } = minuteWindow(now);
    let w = this.windows.get(accountId);
    if (!w || w.start < start) {
      w = { start, requests: 0 };
      this.windows.set(accountId, w);
      if (this.windows.size > 100_000) this.forgetOldWindows(start);
    }
    const allowed = w.requests < perMinute;
    if (allowed) w.requests++;
    return { allowed, limit: perMinute, remaining: Math.max(0, perMinute - w.requests), resetAt: Math.max(resetAt, w.start + 60_000) };
  }

  async reserveMessages(accountId: string, count: number, perDay: number, now = Date.now()): Promise<LimitUse> {
    const { day, resetAt } = utcDay(now);
    return this.committer.submit(() => {
      // Check and count in one synchronous step: nothing else runs on this connection between them.
      const used = (this.stmt.used.get(accountId, day) as { messages: number } | undefined)?.messages ?? 0;
      if (used + count > perDay) return { allowed: false, limit: perDay, remaining: Math.max(0, perDay - used), resetAt };
      if (used === 0) this.stmt.forget.run(accountId, utcDay(now - 86_400_000).day);
      this.stmt.add.run({ account: accountId, day, count });
      return { allowed: true, limit: perDay, remaining: perDay - used - count, resetAt };
    });
  }

  async releaseMessages(accountId: string, count: number, reservedAt: number): Promise<void> {
    await this.committer.submit(() => this.stmt.giveBack.run(count, accountId, utcDay(reservedAt).day));
  }

  async messagesOn(accountId: string, now = Date.now()): Promise<number> {
    return (this.stmt.used.get(accountId, utcDay(now).day) as { messages: number } | undefined)?.messages ?? 0;
  }

  private forgetOldWindows(current: number): void {
    for (const [id, w] of this.windows) if (w.start < current) this.windows.delete(id);
  }
}
