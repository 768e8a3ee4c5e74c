import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Notification, PoolClient } from 'pg';
import type { ClaimedMessage, DestinationClaim, DestinationDepth, MessageQueue, QueueDepth, QueueEntry, QueueListOptions, WaitingDestination } from '../../queue/queue.js';
import { destinationOf } from '../../queue/destination.js';
import type { AcceptedRequest, MailRequest } from '../../message/mail-request.js';
import { activityStatus, newEventId, type DeferredEvent, type DroppedEvent, type FinalEvent, type HeraldEvent } from '../../events/event.js';
import { autoSuppression } from '../../suppressions/auto-suppress.js';
import { rowToMessage, type MessageRow, toQueueEntry, type QueueEntryRow } from '../message-rows.js';
import type { PgDatabase, PgQueryable } from './pg-database.js';
import { PG_UPSERT_SUPPRESSION } from './postgres-suppressions.js';
import { eventColumns, eventWriteTransaction, insertEventsSql } from './postgres-event-log.js';


/** A leased message with its attempts, and its request's payload on the first row of each request. */
interface ClaimRow extends MessageRow {
  attempts: number;
  payload: string | null;
}

/** The channel on which processes tell each other that new work may be ready. */
const CHANNEL = 'herald_ready';
/** PostgreSQL refuses NOTIFY payloads from 8000 bytes; a longer destination list is sent as "unknown". */
const MAX_PAYLOAD = 7000;
const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 30_000;

/**
 * A request's messages, their queue rows and their `processed` events, in one statement (one
 * round trip whatever the number of messages). Parameters: $1..$4 the request; $5..$21 one array
 * per message column (and the destination), in message order; $22..$27 the events' columns.
 * Queue rows go in in message order, so the heap order (ctid) that breaks claim-order ties within
 * a millisecond is the order of the request, as SQLite's rowid is.
 */
const ENQUEUE = `WITH req AS (
    INSERT INTO requests (id, account_id, payload, created_at) VALUES ($1, $2, $3, $4)
  ), src AS (
    SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::int[], $9::text[], $10::text[], $11::text[], $12::text[],
      $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[], $20::text[], $21::int[])
      WITH ORDINALITY AS s(id, account_id, request_id, personalization_index, recipient, recipient_kind, from_email, subject,
        categories, custom_args, api_key_id, template_id, ready_at, expires_at, created_at, destination, asm_group_id, ord)
  ), msg AS (
    INSERT INTO messages (id, account_id, request_id, personalization_index, recipient, recipient_kind, from_email, subject,
      categories, custom_args, api_key_id, template_id, asm_group_id, status, last_event, last_event_time, ready_at, expires_at, created_at)
    SELECT id, account_id, request_id, personalization_index, recipient, recipient_kind, from_email, subject, categories,
      custom_args, api_key_id, template_id, asm_group_id, 'processed', 'processed', created_at, ready_at, expires_at, created_at
    FROM src ORDER BY ord
  ), q AS (
    INSERT INTO queue (message_id, account_id, destination, ready_at, created_at)
    SELECT id, account_id, destination, ready_at, created_at FROM src ORDER BY ord
  ), ev AS (${insertEventsSql(22)})
  SELECT 1`;

/**
 * Records outcome events in the statement that changed the queue (CTE `q` before it): inserts the
 * events (an id already stored is skipped) and, for each one inserted, sets its message's status
 * and last event. Parameters $n..$n+5 are eventColumns, $n+6 the status of each event.
 */
function recordCtes(n: number): string {
  return `ins AS (${insertEventsSql(n)}),
    st AS (
      UPDATE messages m SET status = s.status, last_event = ins.type, last_event_time = ins.timestamp
      FROM ins JOIN unnest($${n}::text[], $${n + 6}::text[]) AS s(id, status) ON s.id = ins.id
      WHERE m.id = ins.message_id
    )`;
}

function recordParams(events: readonly HeraldEvent[]): unknown[] {
  return [...eventColumns(events), events.map((e) => activityStatus(e.type))];
}

/**
 * Leases claimable rows chosen by `picked` (message_id, ready_at, created_at, pos = ctid, ord) and
 * returns each leased message with its attempts, oldest first. Each request's payload comes once,
 * on the first of its rows, rather than once per message. Rows are locked FOR UPDATE SKIP LOCKED
 * in `picked`: concurrent claimers in any number of processes pass over each other's rows instead
 * of waiting for them, and a row leased meanwhile fails the `ready_at <= now` recheck.
 */
function claimSql(picked: string, owner: string, leaseUntil: string): string {
  return `WITH picked AS (${picked}),
    leased AS (
      UPDATE queue q SET lease_owner = ${owner}, ready_at = ${leaseUntil} FROM picked WHERE q.message_id = picked.message_id
      RETURNING q.message_id, q.attempts, picked.ready_at AS was_ready, picked.created_at AS was_created, picked.pos, picked.ord
    )
    SELECT l.attempts, m.*,
      CASE WHEN row_number() OVER (PARTITION BY m.request_id) = 1 THEN r.payload END AS payload
    FROM leased l JOIN messages m ON m.id = l.message_id LEFT JOIN requests r ON r.id = m.request_id
    ORDER BY l.ord, l.was_ready, l.was_created, l.pos`;
}

const CLAIM = claimSql(
  `SELECT message_id, ready_at, created_at, ctid AS pos, 0 AS ord FROM queue WHERE ready_at <= $1
    ORDER BY ready_at, created_at, ctid LIMIT $2 FOR UPDATE SKIP LOCKED`,
  '$3',
  '$4',
);

/** Each wanted destination in turn (`ord`), oldest first within it, up to its own limit. */
const CLAIM_FROM = claimSql(
  `SELECT p.message_id, p.ready_at, p.created_at, p.pos, w.ord
    FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS w(destination, lim, ord)
    CROSS JOIN LATERAL (
      SELECT message_id, ready_at, created_at, ctid AS pos FROM queue
      WHERE destination = w.destination AND ready_at <= $3
      ORDER BY ready_at, ctid LIMIT w.lim FOR UPDATE SKIP LOCKED
    ) p`,
  '$4',
  '$5',
);

// A loose index scan: one index seek per destination, however many messages each holds.
const WAITING = `WITH RECURSIVE d(dest) AS (
    SELECT (SELECT destination FROM queue ORDER BY destination LIMIT 1)
    UNION ALL
    SELECT (SELECT destination FROM queue WHERE destination > d.dest ORDER BY destination LIMIT 1) FROM d WHERE d.dest IS NOT NULL
  )
  SELECT dest AS destination, (SELECT MIN(ready_at) FROM queue WHERE destination = d.dest) AS ready_at FROM d WHERE dest IS NOT NULL`;

const DEPTH_COLUMNS = `SUM(CASE WHEN lease_owner IS NULL AND ready_at <= $1 THEN 1 ELSE 0 END) AS ready,
    SUM(CASE WHEN lease_owner IS NULL AND ready_at > $1 THEN 1 ELSE 0 END) AS scheduled,
    SUM(CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END) AS leased,
    MIN(created_at) AS oldest`;

/** Rows per purge transaction, so a huge purge never holds its locks for long. */
const PURGE_CHUNK = 500;

/**
 * The queue in PostgreSQL, with SqliteQueue's behaviour, for any number of Herald processes on one
 * database. Every transaction that writes events follows PostgresEventLog's ordering protocol
 * (eventWriteTransaction). Wake-ups: listeners in this process are told directly, as in SQLite;
 * other processes hear it through NOTIFY herald_ready, sent right after the commit (see `notify`),
 * and a dedicated LISTEN connection passes their notifications on to this process's listeners.
 */
export class PostgresQueue implements MessageQueue {
  private readonly ready = new EventEmitter();
  /** Tells this process's own notifications apart from other processes' on the shared channel. */
  private readonly origin = randomUUID();
  private listener: PoolClient | null = null;
  private listenerSchema: string | null = null;
  private connecting: Promise<void> | null = null;
  private listening = false;
  private closed = false;
  private retryMs = LISTEN_RETRY_MIN_MS;
  private retryTimer: NodeJS.Timeout | null = null;

  /**
   * @param relaxed connections with `synchronous_commit = off`, for leases and outcomes: as on
   *   SQLite's relaxed connection, a PostgreSQL crash may forget the last fraction of a second of
   *   them, which only means a message is claimed or delivered again (at-least-once). Accepts
   *   always commit on `db`, durably. Defaults to `db`.
   */
  private finishing: Finishing[] = [];
  private finishTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: PgDatabase,
    private readonly relaxed: PgDatabase = db,
  ) {
    this.ready.setMaxListeners(0);
  }

  async enqueue(accepted: AcceptedRequest): Promise<void> {
    const ms = accepted.messages;
    const destinations = ms.map((m) => destinationOf(m.recipient));
    const processed: HeraldEvent[] = ms.map((m) => ({
      type: 'processed',
      id: newEventId(),
      accountId: m.accountId,
      messageId: m.id,
      email: m.recipient,
      timestamp: accepted.acceptedAt,
    }));
    const distinct = [...new Set(destinations)];
    await eventWriteTransaction(
      this.db,
      (tx) =>
        tx.query(ENQUEUE, [
          accepted.requestId,
          accepted.accountId,
          JSON.stringify(accepted.request),
          accepted.acceptedAt,
          ms.map((m) => m.id),
          ms.map((m) => m.accountId),
          ms.map((m) => m.requestId),
          ms.map((m) => m.personalizationIndex),
          ms.map((m) => m.recipient),
          ms.map((m) => m.recipientKind),
          ms.map((m) => m.fromEmail),
          ms.map((m) => m.subject),
          ms.map((m) => JSON.stringify(m.categories)),
          ms.map((m) => JSON.stringify(m.customArgs)),
          ms.map((m) => m.apiKeyId),
          ms.map((m) => m.templateId),
          ms.map((m) => m.readyAt),
          ms.map((m) => m.expiresAt),
          ms.map((m) => m.createdAt),
          destinations,
          ms.map((m) => m.asmGroupId),
          ...eventColumns(processed),
        ]),
      (client) => this.notify(client, distinct),
    );
    this.ready.emit('ready', distinct);
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const now = Date.now();
    // SQLite reads a negative LIMIT as none; PostgreSQL refuses it and reads NULL as none.
    return toClaims(await this.relaxed.query<ClaimRow>(CLAIM, [now, limit < 0 ? null : limit, owner, now + leaseMs]), now + leaseMs);
  }

  async claimFrom(owner: string, wants: readonly DestinationClaim[], leaseMs: number): Promise<ClaimedMessage[]> {
    const now = Date.now();
    const some = wants.filter((w) => w.limit > 0);
    if (some.length === 0) return [];
    const rows = await this.relaxed.query<ClaimRow>(CLAIM_FROM, [some.map((w) => w.destination), some.map((w) => w.limit), now, owner, now + leaseMs]);
    return toClaims(rows, now + leaseMs);
  }

  async waitingDestinations(): Promise<WaitingDestination[]> {
    const rows = await this.db.query<{ destination: string; ready_at: number }>(WAITING);
    // In SQLite's (binary) order, whatever the database's collation.
    return rows.map((r) => ({ destination: r.destination, readyAt: r.ready_at })).sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
  }

  async extendLease(owner: string, messageIds: string[], leaseMs: number): Promise<string[]> {
    if (messageIds.length === 0) return [];
    const until = Date.now() + leaseMs;
    const rows = await this.relaxed.query<{ message_id: string }>(
      'UPDATE queue SET ready_at = $1 WHERE message_id = ANY($2::text[]) AND lease_owner = $3 RETURNING message_id',
      [until, messageIds.filter(storable), owner],
    );
    const held = new Set(rows.map((r) => r.message_id));
    return messageIds.filter((id) => held.has(id));
  }

  async complete(owner: string, event: FinalEvent): Promise<boolean> {
    // The event happened whether or not the lease was still ours: record it either way.
    return this.finish({ kind: 'complete', owner, event });
  }

  async defer(owner: string, event: DeferredEvent): Promise<boolean> {
    return this.finish({ kind: 'defer', owner, event });
  }

  /**
   * Ends or puts back a message and records its event. Outcomes that arrive within a few
   * milliseconds of each other share one transaction and one statement per kind (as SQLite's
   * relaxed group commit shares a commit); if that fails, each is tried again alone so that only
   * a failing one is rejected.
   */
  private finish(outcome: Outcome): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.finishing.push({ ...outcome, resolve, reject });
      if (this.finishing.length >= FINISH_BATCH) void this.flushFinishing();
      else this.finishTimer ??= setTimeout(() => void this.flushFinishing(), FINISH_WINDOW_MS);
    });
  }

  private async flushFinishing(): Promise<void> {
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = null;
    const batch = this.finishing;
    this.finishing = [];
    if (batch.length === 0) return;
    let held: Set<string>;
    try {
      held = await eventWriteTransaction(this.relaxed, (tx) => finishAll(tx, batch));
    } catch {
      for (const item of batch) {
        eventWriteTransaction(this.relaxed, (tx) => finishAll(tx, [item])).then((h) => item.resolve(h.has(item.event.messageId)), item.reject);
      }
      return;
    }
    for (const item of batch) item.resolve(held.has(`${item.kind} ${item.event.messageId}`));
  }

  async release(owner: string | null): Promise<number> {
    const now = Date.now();
    const result =
      owner === null
        ? await this.db.pool.query('UPDATE queue SET ready_at = $1, lease_owner = NULL WHERE lease_owner IS NOT NULL', [now])
        : await this.db.pool.query('UPDATE queue SET ready_at = $1, lease_owner = NULL WHERE lease_owner = $2', [now, owner]);
    const changed = result.rowCount ?? 0;
    if (changed > 0) {
      await this.notify(this.db.pool as unknown as PgQueryable, null).catch(() => {});
      this.ready.emit('ready', null);
    }
    return changed;
  }

  async nextReadyAt(): Promise<number | null> {
    return (await this.db.query<{ at: number | null }>('SELECT MIN(ready_at) AS at FROM queue'))[0]!.at;
  }

  async depth(accountId?: string): Promise<QueueDepth> {
    const [row] = await this.db.query<{ ready: number | null; scheduled: number | null; leased: number | null; oldest: number | null }>(
      accountId === undefined ? `SELECT ${DEPTH_COLUMNS} FROM queue` : `SELECT ${DEPTH_COLUMNS} FROM queue WHERE account_id = $2`,
      accountId === undefined ? [Date.now()] : [Date.now(), accountId],
    );
    return { ready: row!.ready ?? 0, scheduled: row!.scheduled ?? 0, leased: row!.leased ?? 0, oldestCreatedAt: row!.oldest };
  }

  async destinationDepths(): Promise<DestinationDepth[]> {
    const rows = await this.db.query<{ destination: string; ready: number; scheduled: number; leased: number; oldest: number }>(
      `SELECT destination, ${DEPTH_COLUMNS} FROM queue GROUP BY destination ORDER BY COUNT(*) DESC, destination COLLATE "C"`,
      [Date.now()],
    );
    return rows.map((r) => ({ destination: r.destination, ready: r.ready, scheduled: r.scheduled, leased: r.leased, oldestCreatedAt: r.oldest }));
  }

  async list(options: QueueListOptions): Promise<QueueEntry[]> {
    // Like SqliteQueue.list, this does not (yet) page with `options.after`.
    if (options.destination !== undefined && !storable(options.destination)) return [];
    const now = Date.now();
    const rows = await this.db.query<QueueEntryRow>(
      `SELECT q.message_id, q.account_id, m.recipient, q.destination, q.lease_owner, q.attempts, q.ready_at, q.created_at, q.last_response
        FROM queue q JOIN messages m ON m.id = q.message_id
        WHERE $1::text IS NULL OR q.destination = $1
        ORDER BY q.created_at, q.message_id COLLATE "C" LIMIT $2`,
      [options.destination ?? null, options.limit < 0 ? null : options.limit],
    );
    return rows.map((r) => toQueueEntry(r, now));
  }

  async retryNow(destination: string): Promise<number> {
    if (!storable(destination)) return 0;
    const now = Date.now();
    const result = await this.db.pool.query('UPDATE queue SET ready_at = $1 WHERE destination = $2 AND lease_owner IS NULL AND ready_at > $1', [now, destination]);
    const changed = result.rowCount ?? 0;
    if (changed > 0) {
      await this.notify(this.db.pool as unknown as PgQueryable, [destination]).catch(() => {});
      this.ready.emit('ready', [destination]);
    }
    return changed;
  }

  async purge(destination: string, reason: string): Promise<number> {
    if (!storable(destination)) return 0;
    let total = 0;
    for (;;) {
      const removed = await eventWriteTransaction(this.db, async (tx) => {
        // FOR UPDATE without SKIP LOCKED: a row being claimed right now is waited for, then
        // rechecked (it is leased by then, so it stays and finishes its attempt).
        const rows = (
          await tx.query<{ message_id: string; account_id: string; recipient: string }>(
            `DELETE FROM queue q USING messages m
              WHERE m.id = q.message_id AND q.lease_owner IS NULL AND q.message_id IN (
                SELECT q2.message_id FROM queue q2 JOIN messages m2 ON m2.id = q2.message_id
                WHERE q2.destination = $1 AND q2.lease_owner IS NULL LIMIT $2 FOR UPDATE OF q2)
              RETURNING q.message_id, q.account_id, m.recipient`,
            [destination, PURGE_CHUNK],
          )
        ).rows;
        if (rows.length === 0) return 0;
        const events: DroppedEvent[] = rows.map((row) => ({
          type: 'dropped',
          id: newEventId(),
          accountId: row.account_id,
          messageId: row.message_id,
          email: row.recipient,
          timestamp: Date.now(),
          reason,
        }));
        // Dropped events never add a suppression (autoSuppression), so statuses are all there is.
        await tx.query(`WITH ${recordCtes(1)} SELECT 1`, recordParams(events));
        return rows.length;
      });
      if (removed === 0) return total;
      total += removed;
    }
  }

  onReady(listener: (destinations: readonly string[] | null) => void): () => void {
    this.ready.on('ready', listener);
    this.listen();
    return () => this.ready.off('ready', listener);
  }

  /** Ends the LISTEN connection; call before ending the pool. */
  async close(): Promise<void> {
    await this.flushFinishing();
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.connecting;
    this.dropListener();
  }

  /**
   * Tells other processes (on the same database and schema) that these destinations, or anything
   * when null, got new work. Sent after the commit, in a transaction of its own: a NOTIFY inside
   * the writing transaction would make its commit wait for every other notifying commit (PostgreSQL
   * serializes them), and a notification is only a hint: pollers still find the work without it.
   */
  private async notify(q: PgQueryable, destinations: readonly string[] | null): Promise<void> {
    let list = destinations === null ? null : JSON.stringify(destinations);
    if (list !== null && Buffer.byteLength(list) > MAX_PAYLOAD) list = null;
    await q.query(`SELECT pg_notify('${CHANNEL}', json_build_object('schema', current_schema(), 'origin', $1::text, 'destinations', $2::json)::text)`, [
      this.origin,
      list,
    ]);
  }

  /** Starts the LISTEN connection once, the first time someone listens. */
  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = true;
    this.connecting = this.connectListener();
  }

  private async connectListener(): Promise<void> {
    const reconnecting = this.retryMs > LISTEN_RETRY_MIN_MS;
    let client: PoolClient | null = null;
    try {
      client = await this.db.pool.connect();
      const c = client;
      // Out of the pool's rotation from here on: never released back, only destroyed.
      c.on('error', () => this.lostListener(c));
      c.on('end', () => this.lostListener(c));
      c.on('notification', (message: Notification) => this.heard(message.payload));
      this.listenerSchema = (await c.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]!.s;
      await c.query(`LISTEN ${CHANNEL}`);
      if (this.closed) {
        c.release(true);
        return;
      }
      this.listener = c;
      this.retryMs = LISTEN_RETRY_MIN_MS;
      // Notifications sent while we were away are lost: anything may be ready.
      if (reconnecting) this.ready.emit('ready', null);
    } catch {
      client?.release(true);
      this.retryLater();
    } finally {
      this.connecting = null;
    }
  }

  private lostListener(client: PoolClient): void {
    if (client !== this.listener) return;
    this.dropListener();
    this.retryLater();
  }

  private dropListener(): void {
    const client = this.listener;
    this.listener = null;
    if (!client) return;
    client.removeAllListeners('notification');
    client.release(true);
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, LISTEN_RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) this.connecting = this.connectListener();
    }, wait);
    this.retryTimer.unref();
  }

  /** A notification from the channel: another process's work (our own was told directly). */
  private heard(payload: string | undefined): void {
    let destinations: readonly string[] | null = null;
    try {
      const parsed = JSON.parse(payload ?? '') as { schema?: unknown; origin?: unknown; destinations?: unknown };
      if (parsed.schema !== this.listenerSchema || parsed.origin === this.origin) return;
      const d = parsed.destinations;
      destinations = Array.isArray(d) && d.every((x) => typeof x === 'string') ? (d as string[]) : null;
    } catch {
      destinations = null;
    }
    this.ready.emit('ready', destinations);
  }
}

/** Adds the suppression an outcome calls for, if any, in the transaction that recorded it. */
async function suppressFor(tx: PgQueryable, event: HeraldEvent): Promise<void> {
  const listed = autoSuppression(event);
  if (!listed) return;
  await tx.query(PG_UPSERT_SUPPRESSION, [event.accountId, event.email.toLowerCase(), listed.list, listed.reason, listed.status, null, event.timestamp]);
}

/** Claim rows (in order) to claims; a message whose request is missing is skipped, as in SQLite. */
function toClaims(rows: ClaimRow[], leaseUntil: number): ClaimedMessage[] {
  const requests = new Map<string, MailRequest>();
  for (const row of rows) {
    if (row.payload !== null && !requests.has(row.request_id)) requests.set(row.request_id, JSON.parse(row.payload) as MailRequest);
  }
  const out: ClaimedMessage[] = [];
  for (const row of rows) {
    const request = requests.get(row.request_id);
    if (request) out.push({ message: rowToMessage(row), request, attempts: row.attempts, leaseUntil });
  }
  return out;
}

/**
 * PostgreSQL text cannot hold NUL and refuses a parameter with one; such a key names no row, so
 * it matches nothing, as SQLite answers, not an error.
 */
function storable(key: string): boolean {
  return !key.includes('\0');
}


/** A message's outcome: `complete` ends its life in the queue, `defer` puts it back until its next attempt. */
type Outcome = { kind: 'complete'; owner: string; event: FinalEvent } | { kind: 'defer'; owner: string; event: DeferredEvent };

/** An outcome waiting to share a transaction with others. */
type Finishing = Outcome & { resolve: (held: boolean) => void; reject: (error: unknown) => void };

/** Outcomes that share one transaction at most, and how long the first waits for company, ms. */
const FINISH_BATCH = 64;
const FINISH_WINDOW_MS = 3;

const COMPLETE_ALL = `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[]) AS x(id, owner)),
  q AS (DELETE FROM queue USING x WHERE queue.message_id = x.id AND queue.lease_owner = x.owner RETURNING queue.message_id),
  ${recordCtes(3)}
  SELECT ARRAY(SELECT message_id FROM q) AS held, ARRAY(SELECT id FROM ins) AS recorded`;

const DEFER_ALL = `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS x(id, owner, ready, response)),
  q AS (
    UPDATE queue SET ready_at = x.ready, lease_owner = NULL, attempts = queue.attempts + 1, last_response = x.response
    FROM x WHERE queue.message_id = x.id AND queue.lease_owner = x.owner RETURNING queue.message_id
  ),
  ${recordCtes(5)}
  SELECT ARRAY(SELECT message_id FROM q) AS held, ARRAY(SELECT id FROM ins) AS recorded`;

/**
 * The outcomes' queue changes and events, one statement per kind, then the suppressions their
 * newly recorded events cause. Returns `<kind> <message id>` for each message whose lease was
 * still held (and, for a batch of one, the bare message id too).
 */
async function finishAll(tx: PgQueryable, batch: readonly Outcome[]): Promise<Set<string>> {
  const held = new Set<string>();
  const recorded = new Set<string>();
  const completes = batch.filter((o): o is Extract<Outcome, { kind: 'complete' }> => o.kind === 'complete');
  const defers = batch.filter((o): o is Extract<Outcome, { kind: 'defer' }> => o.kind === 'defer');
  if (completes.length > 0) {
    const [row] = (
      await tx.query<{ held: string[]; recorded: string[] }>(COMPLETE_ALL, [
        completes.map((o) => o.event.messageId),
        completes.map((o) => o.owner),
        ...recordParams(completes.map((o) => o.event)),
      ])
    ).rows;
    for (const id of row!.held) held.add(`complete ${id}`).add(id);
    for (const id of row!.recorded) recorded.add(id);
  }
  if (defers.length > 0) {
    const [row] = (
      await tx.query<{ held: string[]; recorded: string[] }>(DEFER_ALL, [
        defers.map((o) => o.event.messageId),
        defers.map((o) => o.owner),
        defers.map((o) => o.event.nextAttemptAt),
        defers.map((o) => o.event.response),
        ...recordParams(defers.map((o) => o.event)),
      ])
    ).rows;
    for (const id of row!.held) held.add(`defer ${id}`).add(id);
    for (const id of row!.recorded) recorded.add(id);
  }
  for (const o of batch) if (recorded.has(o.event.id)) await suppressFor(tx, o.event);
  return held;
}
