import type Database from 'better-sqlite3';
import type { ActivityStore, MessageDetail, MessageSummary } from '../../events/event-log.js';
import type { ActivityField, ActivityFilter } from '../../events/activity-query.js';
import { activityFilterToSql } from '../../events/activity-query-sql.js';
import { rowToEvent, type EventRow } from './event-rows.js';

const COLUMNS: Record<ActivityField, string> = {
  to_email: 'recipient',
  from_email: 'from_email',
  subject: 'subject',
  status: 'status',
  msg_id: 'id',
  categories: 'categories',
  template_id: 'template_id',
  api_key_id: 'api_key_id',
  last_event_time: 'last_event_time',
  unique_args: 'custom_args',
};

interface SummaryRow {
  id: string;
  account_id: string;
  from_email: string;
  recipient: string;
  subject: string;
  status: MessageSummary['status'];
  last_event: MessageSummary['lastEvent'];
  last_event_time: number;
  categories: string;
  custom_args: string;
  api_key_id: string | null;
  template_id: string | null;
  opens_count: number;
  clicks_count: number;
}

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
}

function toSummary(row: SummaryRow): MessageSummary {
  return {
    msgId: row.id,
    accountId: row.account_id,
    fromEmail: row.from_email,
    toEmail: row.recipient,
    subject: row.subject,
    status: row.status,
    lastEvent: row.last_event,
    lastEventTime: row.last_event_time,
    categories: JSON.parse(row.categories) as string[],
    customArgs: JSON.parse(row.custom_args) as Record<string, string>,
    apiKeyId: row.api_key_id,
    templateId: row.template_id,
    opensCount: row.opens_count,
    clicksCount: row.clicks_count,
  };
}
