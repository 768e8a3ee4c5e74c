import type { ActivityStore, MessageDetail, MessageSummary } from '../../events/event-log.js';
import type { ActivityFilter } from '../../events/activity-query.js';
import { ACTIVITY_COLUMNS as COLUMNS, toSummary, type SummaryRow } from '../message-rows.js';
import { activityFilterToSql } from '../../events/activity-query-sql.js';
import { rowToEvent, type EventRow } from '../event-rows.js';
import type { PgDatabase } from './pg-database.js';



/** Email Activity queries, as SqliteActivity answers them (the filter compiles for PostgreSQL). */
export class PostgresActivity implements ActivityStore {
  constructor(private readonly db: PgDatabase) {}

  async getMessage(accountId: string, msgId: string): Promise<MessageDetail | null> {
    // PostgreSQL text cannot hold NUL: such an id names no message (SQLite answers the same).
    if (msgId.includes('\0')) return null;
    const [row] = await this.db.query<SummaryRow>('SELECT * FROM messages WHERE account_id = $1 AND id = $2', [accountId, msgId]);
    if (!row) return null;
    const events = (await this.db.query<EventRow>('SELECT * FROM events WHERE message_id = $1 AND account_id = $2 ORDER BY seq', [msgId, accountId])).map(rowToEvent);
    return { ...toSummary(row), events };
  }

  async queryMessages(accountId: string, filter: ActivityFilter | null, limit: number): Promise<MessageSummary[]> {
    // $1 is the account; the filter's parameters follow; the limit comes last.
    const where = filter ? activityFilterToSql(filter, COLUMNS, { kind: 'postgres', firstParam: 2 }) : { sql: '1 = 1', params: [] };
    const rows = await this.db.query<SummaryRow>(
      // id in binary order, as SQLite sorts it, whatever the database's collation.
      `SELECT * FROM messages WHERE account_id = $1 AND (${where.sql}) ORDER BY last_event_time DESC, id COLLATE "C" LIMIT $${where.params.length + 2}`,
      // SQLite reads a negative LIMIT as none; PostgreSQL refuses it and reads NULL as none.
      [accountId, ...where.params, limit < 0 ? null : limit],
    );
    return rows.map(toSummary);
  }

  async lookupMessages(accountId: string, ids: readonly string[]): Promise<Map<string, MessageSummary>> {
    const clean = ids.filter((id) => !id.includes('\0'));
    const rows = clean.length === 0 ? [] : await this.db.query<SummaryRow>('SELECT * FROM messages WHERE account_id = $1 AND id = ANY($2::text[])', [accountId, clean]);
    return new Map(rows.map((row) => [row.id, toSummary(row)]));
  }

  async findMessages(ids: readonly string[]): Promise<Map<string, MessageSummary>> {
    const clean = ids.filter((id) => !id.includes('\0'));
    const rows = clean.length === 0 ? [] : await this.db.query<SummaryRow>('SELECT * FROM messages WHERE id = ANY($1::text[])', [clean]);
    return new Map(rows.map((row) => [row.id, toSummary(row)]));
  }
}

