import type { PoolClient } from 'pg';
import type { HeraldEvent } from '../../events/event.js';
import type { EventLog } from '../../events/event-log.js';
import { eventToRow, rowToEvent, type EventRow } from '../event-rows.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';

/*
 * Reading the log in order without skipping an event.
 *
 * `events.seq` is an identity column: a transaction takes its numbers when it inserts, but other
 * sessions see them only when it commits, and transactions do not commit in the order they took
 * their numbers. A reader at cursor 4 that sees 6 (committed) while 5 is still in flight would
 * move its cursor to 6 and never see 5. So a reader must not return anything above a number
 * still held by an open transaction.
 *
 * Writers do not wait for each other: every transaction that inserts into `events` (append here;
 * enqueue, complete, defer and purge in PostgresQueue) first takes a SHARED transaction-level
 * advisory lock (EVENT_WRITER_LOCK), before it takes any number (and before any row lock, so it
 * never waits on it while holding one). Shared holders do not conflict, so any number of writers
 * in any number of processes run and commit in parallel.
 *
 * A reader (readFrom) that has something new to return:
 *   1. notes the highest number handed out so far, `high` (the sequence's last value; numbers are
 *      handed out one at a time, the identity's default CACHE 1, so every number <= high was taken
 *      by a transaction that, by the protocol, already held the shared lock);
 *   2. takes the same lock EXCLUSIVELY for an instant (its own one-statement transaction): that
 *      waits until every transaction holding the shared lock then has committed or rolled back,
 *      which includes every transaction that took a number <= high;
 *   3. reads `seq > cursor AND seq <= high` with a fresh snapshot: every number <= high is now
 *      either committed and visible, or rolled back and never will be. Numbers above `high`
 *      are left for the next read.
 * So a read returns a gap-free prefix of what will ever be committed, and cursors never skip.
 * A transaction's lock is released only after its commit is visible to new snapshots.
 *
 * Cost: a read with new rows makes writers that start during it wait until the writers already
 * running finish (about one transaction's time); writers never wait for each other. Serializing
 * every event-writing transaction under an exclusive lock instead would cap the whole cluster at
 * one commit (one WAL flush) at a time for every enqueue and every delivery outcome.
 *
 * Both locks are per schema (two installations in one database do not wait for each other).
 */

/** Taken first in every transaction that inserts into `events`; see above. */
export const EVENT_WRITER_LOCK = "SELECT pg_advisory_xact_lock_shared(hashtext('herald.events'), hashtext(current_schema()))";
const EVENT_READER_LOCK = "SELECT pg_advisory_xact_lock(hashtext('herald.events'), hashtext(current_schema()))";
/** The highest seq handed out so far (0 before the first). */
const HIGH_WATER = "SELECT COALESCE(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')::regclass), 0) AS high";

/**
 * Runs `work` in a transaction that may insert into `events`: it holds EVENT_WRITER_LOCK from the
 * start (taken with BEGIN in one round trip). Commits when `work` resolves, rolls back when it
 * throws. `after` runs on the same connection after a successful commit (e.g. a NOTIFY, which
 * inside the transaction would serialize the commit behind every other notifying one).
 */
export async function eventWriteTransaction<T>(db: PgDatabase, work: (tx: PgQueryable) => Promise<T>, after?: (client: PgQueryable, result: T) => Promise<void>): Promise<T> {
  const client: PoolClient = await db.pool.connect();
  let broken = false;
  try {
    await client.query(`BEGIN; ${EVENT_WRITER_LOCK}`);
    let result: T;
    try {
      result = await work(client as unknown as PgQueryable);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    }
    // Best effort: the work is committed whatever happens to what follows it.
    if (after) await after(client as unknown as PgQueryable, result).catch(() => {
      broken = true;
    });
    return result;
  } finally {
    client.release(broken);
  }
}

/** Splits events into parallel arrays for `unnest`, one array per column, in order. */
export function eventColumns(events: readonly HeraldEvent[]): unknown[][] {
  const rows = events.map(eventToRow);
  return [rows.map((r) => r.id), rows.map((r) => r.account_id), rows.map((r) => r.message_id), rows.map((r) => r.type), rows.map((r) => r.timestamp), rows.map((r) => r.data)];
}

/**
 * A multi-row, idempotent insert of events, numbered in the order given; parameters $n..$n+5 are
 * eventColumns' arrays. Yields (RETURNING) the rows it inserted: an id already stored is skipped.
 */
export function insertEventsSql(n: number): string {
  return `INSERT INTO events (id, account_id, message_id, type, timestamp, data)
    SELECT e.id, e.account_id, e.message_id, e.type, e.timestamp, e.data
      FROM unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::text[], $${n + 3}::text[], $${n + 4}::bigint[], $${n + 5}::text[])
        WITH ORDINALITY AS e(id, account_id, message_id, type, timestamp, data, ord)
      ORDER BY e.ord
    ON CONFLICT (id) DO NOTHING
    RETURNING id, account_id, message_id, type, timestamp`;
}

export class PostgresEventLog implements EventLog {
  constructor(private readonly db: PgDatabase) {}

  async append(events: HeraldEvent[]): Promise<void> {
    if (events.length === 0) return;
    await eventWriteTransaction(this.db, async (tx) => {
      await tx.query(insertEventsSql(1), eventColumns(events));
    });
  }

  async readFrom(cursor: number, limit: number): Promise<{ events: HeraldEvent[]; cursor: number }> {
    // SQLite reads a negative LIMIT as none; PostgreSQL refuses it and reads NULL as none.
    const max = limit < 0 ? null : limit;
    // Nothing visible past the cursor: nothing to return, and no need to wait for anyone.
    const [probe] = await this.db.query<{ high: number; newer: boolean }>(
      `${HIGH_WATER}, EXISTS (SELECT 1 FROM events WHERE seq > $1) AS newer`,
      [cursor],
    );
    if (!probe!.newer || max === 0) return { events: [], cursor };
    // Wait for every transaction that may hold a number <= high (see the comment at the top).
    await this.db.query(EVENT_READER_LOCK);
    const rows = await this.db.query<EventRow>('SELECT * FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3', [cursor, probe!.high, max]);
    return { events: rows.map(rowToEvent), cursor: rows.length > 0 ? rows[rows.length - 1]!.seq : cursor };
  }

  async head(): Promise<number> {
    // The highest number handed out, once every transaction that may hold one at or below it has
    // ended (the reader's protocol above): nothing at or below it can still appear.
    const [row] = await this.db.query<{ high: number }>(HIGH_WATER);
    await this.db.query(EVENT_READER_LOCK);
    return Number(row!.high);
  }
}
