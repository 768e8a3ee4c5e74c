import type Database from 'better-sqlite3';
import type { ActivityStore, MessageDetail, MessageSummary } from '../../events/event-log.js';
import type { ActivityFilter } from '../../events/activity-query.js';
import { ACTIVITY_COLUMNS as COLUMNS, toSummary, type SummaryRow } from '../message-rows.js';
import { activityFilterToSql } from '../../events/activity-query-sql.js';
import { rowToEvent, type EventRow } from '../event-rows.js';



export class SqliteActivity implements ActivityStore {
  private readonly byId;
  private readonly eventsOf;

  constructor(private readonly db: Database.Database) {
    this.byId = db.prepare('SELECT * FROM messages WHERE account_id = ? AND id = ?');
    this.eventsOf = db.prepare('SELECT * FROM events WHERE message_id = ? AND account_id = ? ORDER BY seq');
  }

  async getMessage(accountId: string, msgId: string): Promise<MessageDetail | null> {
    const row = this.byId.get(accountId, msgId) as SummaryRow | undefined;
    if (!row) return null;
    const events = (this.eventsOf.all(msgId, accountId) as EventRow[]).map(rowToEvent);
    return { ...toSummary(row), events };
  }

  async queryMessages(accountId: string, filter: ActivityFilter | null, limit: number): Promise<MessageSummary[]> {
    const where = filter ? activityFilterToSql(filter, COLUMNS) : { sql: '1 = 1', params: [] };
    const rows = this.db
      .prepare(`SELECT * FROM messages WHERE account_id = ? AND (${where.sql}) ORDER BY last_event_time DESC, id LIMIT ?`)
      .all(accountId, ...where.params, limit) as SummaryRow[];
    return rows.map(toSummary);
  }

  async lookupMessages(accountId: string, ids: readonly string[]): Promise<Map<string, MessageSummary>> {
    const found = new Map<string, MessageSummary>();
    // SQLite's default limit on host parameters is 32,766; 500 ids a statement stays far below it.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db
        .prepare(`SELECT * FROM messages WHERE account_id = ? AND id IN (${chunk.map(() => '?').join(',')})`)
        .all(accountId, ...chunk) as SummaryRow[];
      for (const row of rows) found.set(row.id, toSummary(row));
    }
    return found;
  }

  async findMessages(ids: readonly string[]): Promise<Map<string, MessageSummary>> {
    const found = new Map<string, MessageSummary>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT * FROM messages WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as SummaryRow[];
      for (const row of rows) found.set(row.id, toSummary(row));
    }
    return found;
  }
}

