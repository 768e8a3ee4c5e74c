import type { EngagementEvent } from '../../events/event.js';
import { engagementEffect, type EngagementLog } from '../../events/engagement-log.js';
import { eventColumns, eventWriteTransaction, insertEventsSql } from './postgres-event-log.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';

const COUNTED = {
  opens_count: 'UPDATE messages SET opens_count = opens_count + 1, last_event_time = GREATEST(last_event_time, $1) WHERE id = $2 AND account_id = $3',
  clicks_count: 'UPDATE messages SET clicks_count = clicks_count + 1, last_event_time = GREATEST(last_event_time, $1) WHERE id = $2 AND account_id = $3',
} as const;
const TOUCHED = 'UPDATE messages SET last_event_time = GREATEST(last_event_time, $1) WHERE id = $2 AND account_id = $3';
const CLOSED = "UPDATE messages SET status = 'not_delivered', last_event = 'bounce', last_event_time = GREATEST(last_event_time, $1) WHERE id = $2 AND account_id = $3";
const SUPPRESS = `INSERT INTO suppressions (account_id, email, list, group_id, reason, status, ip, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (account_id, email, list, group_id) DO UPDATE SET reason = EXCLUDED.reason, status = EXCLUDED.status, ip = EXCLUDED.ip`;
const RESUBSCRIBE = "DELETE FROM suppressions WHERE account_id = $1 AND email = $2 AND list = 'group' AND group_id = $3";

/** Engagement on the durable pool: the events and their effects in one transaction. */
export class PostgresEngagement implements EngagementLog {
  constructor(private readonly db: PgDatabase) {}

  async record(events: readonly EngagementEvent[]): Promise<EngagementEvent[]> {
    if (events.length === 0) return [];
    return eventWriteTransaction(this.db, async (tx) => {
      const inserted = new Set((await tx.query<{ id: string }>(insertEventsSql(1), eventColumns(events))).rows.map((r) => r.id));
      const fresh = events.filter((e) => inserted.has(e.id));
      for (const event of fresh) await applyEffect(tx, event);
      return fresh;
    });
  }
}

async function applyEffect(tx: PgQueryable, event: EngagementEvent): Promise<void> {
  const effect = engagementEffect(event);
  const where = [event.timestamp, event.messageId, event.accountId];
  await tx.query(effect.closesMessage ? CLOSED : effect.counter ? COUNTED[effect.counter] : TOUCHED, where);
  const email = event.email.toLowerCase();
  if (effect.suppress) {
    const s = effect.suppress;
    await tx.query(SUPPRESS, [event.accountId, email, s.list, s.groupId, s.reason, s.status, 'ip' in event ? event.ip : null, event.timestamp]);
  }
  if (effect.resubscribeGroup !== null) await tx.query(RESUBSCRIBE, [event.accountId, email, effect.resubscribeGroup]);
}
