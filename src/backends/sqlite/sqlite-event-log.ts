import type Database from 'better-sqlite3';
import type { HeraldEvent } from '../../events/event.js';
import type { EventLog } from '../../events/event-log.js';
import type { GroupCommitter } from './group-commit.js';
import { eventToRow, rowToEvent, type EventRow } from '../event-rows.js';

export class SqliteEventLog implements EventLog {
  private readonly insert;
  private readonly after;
  private readonly last;

  constructor(db: Database.Database, private readonly committer: GroupCommitter) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO events (id, account_id, message_id, type, timestamp, data)
      VALUES (@id, @account_id, @message_id, @type, @timestamp, @data)`);
    this.after = db.prepare('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.last = db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM events');
  }

  async append(events: HeraldEvent[]): Promise<void> {
    await this.committer.submit(() => {
      for (const e of events) this.insert.run(eventToRow(e));
    });
  }

  async readFrom(cursor: number, limit: number): Promise<{ events: HeraldEvent[]; cursor: number }> {
    const rows = this.after.all(cursor, limit) as EventRow[];
    return { events: rows.map(rowToEvent), cursor: rows.length > 0 ? rows[rows.length - 1]!.seq : cursor };
  }

  async head(): Promise<number> {
    // Writes run on this thread, so nothing is half-written: the largest seq is the end.
    return (this.last.get() as { seq: number }).seq;
  }
}
