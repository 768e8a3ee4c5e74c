import type Database from 'better-sqlite3';
import type { CaptureInbox, CapturedMessage } from '../../delivery/capture-inbox.js';
import type { GroupCommitter } from './group-commit.js';

const FIELDS = `id, account_id AS accountId, message_id AS messageId, envelope_from AS envelopeFrom,
  envelope_to AS envelopeTo, subject, size, received_at AS receivedAt`;

export class SqliteInbox implements CaptureInbox {
  private readonly stmt;

  constructor(db: Database.Database, private readonly committer: GroupCommitter) {
    this.stmt = {
      insert: db.prepare(`INSERT INTO inbox (id, account_id, message_id, envelope_from, envelope_to, subject, size, received_at, raw)
        VALUES (@id, @accountId, @messageId, @envelopeFrom, @envelopeTo, @subject, @size, @receivedAt, @raw)`),
      list: db.prepare(`SELECT ${FIELDS} FROM inbox WHERE account_id = ? ORDER BY received_at DESC, rowid DESC LIMIT ?`),
      listTo: db.prepare(`SELECT ${FIELDS} FROM inbox WHERE account_id = ? AND envelope_to = ? ORDER BY received_at DESC, rowid DESC LIMIT ?`),
      get: db.prepare(`SELECT ${FIELDS}, raw FROM inbox WHERE account_id = ? AND id = ?`),
      clear: db.prepare('DELETE FROM inbox WHERE account_id = ?'),
    };
  }

  async store(message: CapturedMessage, raw: Buffer): Promise<void> {
    await this.committer.submit(() => this.stmt.insert.run({ ...message, raw }));
  }

  async list(accountId: string, options: { limit: number; to?: string }): Promise<CapturedMessage[]> {
    return (options.to
      ? this.stmt.listTo.all(accountId, options.to, options.limit)
      : this.stmt.list.all(accountId, options.limit)) as CapturedMessage[];
  }

  async get(accountId: string, id: string): Promise<{ message: CapturedMessage; raw: Buffer } | null> {
    const row = this.stmt.get.get(accountId, id) as (CapturedMessage & { raw: Buffer }) | undefined;
    if (!row) return null;
    const { raw, ...message } = row;
    return { message, raw };
  }

  async clear(accountId: string): Promise<number> {
    return this.committer.submit(() => this.stmt.clear.run(accountId).changes);
  }
}
