import type { CaptureInbox, CapturedMessage } from '../../delivery/capture-inbox.js';
import type { PgDatabase } from './pg-database.js';

const FIELDS = `id, account_id AS "accountId", message_id AS "messageId", envelope_from AS "envelopeFrom",
  envelope_to AS "envelopeTo", subject, size, received_at AS "receivedAt"`;

/**
 * Newest first; messages received in the same millisecond newest-inserted first, as SQLite's
 * `rowid DESC` orders them. Inbox rows are never updated, so `xmin` (the inserting transaction)
 * still says which came last.
 */
const NEWEST_FIRST = 'ORDER BY received_at DESC, xmin::text::bigint DESC';

/** The capture inbox as SqliteInbox keeps it; the raw message is BYTEA, a Buffer both ways. */
export class PostgresInbox implements CaptureInbox {
  constructor(private readonly db: PgDatabase) {}

  async store(message: CapturedMessage, raw: Buffer): Promise<void> {
    await this.db.query(
      `INSERT INTO inbox (id, account_id, message_id, envelope_from, envelope_to, subject, size, received_at, raw)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [message.id, message.accountId, message.messageId, message.envelopeFrom, message.envelopeTo, message.subject, message.size, message.receivedAt, raw],
    );
  }

  async list(accountId: string, options: { limit: number; to?: string }): Promise<CapturedMessage[]> {
    // SQLite reads a negative LIMIT as none; PostgreSQL refuses it, and reads NULL as none.
    if (options.to?.includes('\0')) return [];
    const limit = options.limit < 0 ? null : options.limit;
    return options.to
      ? this.db.query<CapturedMessage>(`SELECT ${FIELDS} FROM inbox WHERE account_id = $1 AND envelope_to = $2 ${NEWEST_FIRST} LIMIT $3`, [accountId, options.to, limit])
      : this.db.query<CapturedMessage>(`SELECT ${FIELDS} FROM inbox WHERE account_id = $1 ${NEWEST_FIRST} LIMIT $2`, [accountId, limit]);
  }

  async get(accountId: string, id: string): Promise<{ message: CapturedMessage; raw: Buffer } | null> {
    // PostgreSQL text cannot hold NUL and refuses a parameter with one: such an id names nothing.
    if (id.includes('\0')) return null;
    const row = (await this.db.query<CapturedMessage & { raw: Buffer }>(`SELECT ${FIELDS}, raw FROM inbox WHERE account_id = $1 AND id = $2`, [accountId, id]))[0];
    if (!row) return null;
    const { raw, ...message } = row;
    return { message, raw };
  }

  async clear(accountId: string): Promise<number> {
    return (await this.db.pool.query('DELETE FROM inbox WHERE account_id = $1', [accountId])).rowCount ?? 0;
  }
}
