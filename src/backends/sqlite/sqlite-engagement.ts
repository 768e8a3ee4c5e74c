import type Database from 'better-sqlite3';
import type { EngagementEvent } from '../../events/event.js';
import { engagementEffect, type EngagementLog } from '../../events/engagement-log.js';
import type { GroupCommitter } from './group-commit.js';
import { eventToRow } from '../event-rows.js';

/** Engagement on the durable connection, each batch in one group commit. */
export class SqliteEngagement implements EngagementLog {
  private readonly stmt;

  constructor(db: Database.Database, private readonly committer: GroupCommitter) {
    this.stmt = {
      insertEvent: db.prepare(`INSERT OR IGNORE INTO events (id, account_id, message_id, type, timestamp, data)
        VALUES (@id, @account_id, @message_id, @type, @timestamp, @data)`),
      opened: db.prepare('UPDATE messages SET opens_count = opens_count + 1, last_event_time = MAX(last_event_time, ?) WHERE id = ? AND account_id = ?'),
      clicked: db.prepare('UPDATE messages SET clicks_count = clicks_count + 1, last_event_time = MAX(last_event_time, ?) WHERE id = ? AND account_id = ?'),
      touched: db.prepare('UPDATE messages SET last_event_time = MAX(last_event_time, ?) WHERE id = ? AND account_id = ?'),
      closed: db.prepare("UPDATE messages SET status = 'not_delivered', last_event = 'bounce', last_event_time = MAX(last_event_time, ?) WHERE id = ? AND account_id = ?"),
      suppress: db.prepare(`INSERT INTO suppressions (account_id, email, list, group_id, reason, status, ip, created_at)
        VALUES (@account_id, @email, @list, @group_id, @reason, @status, @ip, @created_at)
        ON CONFLICT (account_id, email, list, group_id) DO UPDATE SET reason = excluded.reason, status = excluded.status, ip = excluded.ip`),
      resubscribe: db.prepare("DELETE FROM suppressions WHERE account_id = ? AND email = ? AND list = 'group' AND group_id = ?"),
    };
  }

  async record(events: readonly EngagementEvent[]): Promise<EngagementEvent[]> {
    if (events.length === 0) return [];
    return this.committer.submit(() => events.filter((e) => this.recordOne(e)));
  }

  private recordOne(event: EngagementEvent): boolean {
    if (this.stmt.insertEvent.run(eventToRow(event)).changes === 0) return false;
    const effect = engagementEffect(event);
    const where = [event.timestamp, event.messageId, event.accountId] as const;
    if (effect.closesMessage) this.stmt.closed.run(...where);
    else if (effect.counter === 'opens_count') this.stmt.opened.run(...where);
    else if (effect.counter === 'clicks_count') this.stmt.clicked.run(...where);
    else this.stmt.touched.run(...where);
    const email = event.email.toLowerCase();
    if (effect.suppress) {
      const ip = 'ip' in event ? event.ip : null;
      this.stmt.suppress.run({
        account_id: event.accountId,
        email,
        list: effect.suppress.list,
        group_id: effect.suppress.groupId,
        reason: effect.suppress.reason,
        status: effect.suppress.status,
        ip,
        created_at: event.timestamp,
      });
    }
    if (effect.resubscribeGroup !== null) this.stmt.resubscribe.run(event.accountId, email, effect.resubscribeGroup);
    return true;
  }
}
