import { EventEmitter } from 'node:events';
import type Database from 'better-sqlite3';
import type { ClaimedMessage, DestinationClaim, DestinationDepth, MessageQueue, QueueDepth, QueueEntry, QueueListOptions, WaitingDestination } from '../../queue/queue.js';
import { destinationOf } from '../../queue/destination.js';
import type { AcceptedRequest, MailRequest, NewMessage } from '../../message/mail-request.js';
import { activityStatus, newEventId, type DeferredEvent, type DroppedEvent, type FinalEvent, type HeraldEvent } from '../../events/event.js';
import { messageToRow, rowToMessage, type MessageRow, toQueueEntry, type QueueEntryRow } from '../message-rows.js';
import type { SqliteConnections } from './sqlite-connections.js';
import { eventToRow } from '../event-rows.js';
import { UPSERT_SUPPRESSION } from './sqlite-suppressions.js';
import { autoSuppression } from '../../suppressions/auto-suppress.js';

/** Parsed requests kept, and the largest payload kept (chars): big attachments are parsed each time. */
const CACHED_REQUESTS = 256;
/** Messages accepted by this process and not yet claimed, kept so a claim need not read them back. */
const FRESH_MESSAGES = 50_000;
const CACHED_REQUEST_MAX_CHARS = 256 * 1024;

interface ClaimableRow {
  message_id: string;
  attempts: number;
}


export class SqliteQueue implements MessageQueue {
  private readonly ready = new EventEmitter();
  private readonly stmt;

  private readonly db: Database.Database;
  /**
   * Parsed request payloads by request id, least recently used first. A request's messages are
   * claimed over many claims; a payload is written once and never changed, so the same parsed
   * object serves them all (and lets the composer reuse work across personalizations). Callers
   * must not modify it.
   */
  private readonly requests = new Map<string, MailRequest>();
  /**
   * Messages this process accepted, by id, oldest first, until their first claim: a message row
   * never changes after it is written, so the claim takes it from here instead of reading it back.
   * The oldest go when there are more than `FRESH_MESSAGES` (a backlog, scheduled mail); those are
   * read from the store as any other.
   */
  private readonly fresh = new Map<string, NewMessage>();

  constructor(private readonly connections: SqliteConnections) {
    this.ready.setMaxListeners(0);
    // Accepts commit through the accept committer (the WAL fsynced per group commit, off the event
    // loop, before any caller is answered): a 202 must survive power loss. Leases and outcomes
    // commit through the relaxed one: losing the last of those to a power cut only means a
    // message is leased or delivered again, which at-least-once allows. Both committers share one
    // connection (see SqliteConnections).
    const durable = connections.accept.db;
    const db = connections.relaxed.db;
    this.db = db;
    this.stmt = {
      acceptEvent: durable.prepare(`INSERT OR IGNORE INTO events (id, account_id, message_id, type, timestamp, data)
        VALUES (@id, @account_id, @message_id, @type, @timestamp, @data)`),
      insertRequest: durable.prepare('INSERT INTO requests (id, account_id, payload, created_at) VALUES (?, ?, ?, ?)'),
      insertMessage: durable.prepare(`INSERT INTO messages (id, account_id, request_id, personalization_index, recipient,
        recipient_kind, from_email, subject, categories, custom_args, api_key_id, template_id, asm_group_id, status, last_event,
        last_event_time, ready_at, expires_at, created_at)
        VALUES (@id, @account_id, @request_id, @personalization_index, @recipient, @recipient_kind, @from_email,
        @subject, @categories, @custom_args, @api_key_id, @template_id, @asm_group_id, 'processed', 'processed', @created_at,
        @ready_at, @expires_at, @created_at)`),
      insertQueue: durable.prepare('INSERT INTO queue (message_id, account_id, destination, ready_at, created_at) VALUES (?, ?, ?, ?, ?)'),
      insertEvent: db.prepare(`INSERT OR IGNORE INTO events (id, account_id, message_id, type, timestamp, data)
        VALUES (@id, @account_id, @message_id, @type, @timestamp, @data)`),
      // Same connection and transaction as the event: the bounce and the suppression it causes
      // are written together or not at all (DESIGN.md principle 2).
      suppress: db.prepare(UPSERT_SUPPRESSION),
      setStatus: db.prepare('UPDATE messages SET status = ?, last_event = ?, last_event_time = ? WHERE id = ?'),
      // Not on the delivery path (which claims per destination): a scan of the queue.
      claimable: db.prepare('SELECT message_id, attempts FROM queue WHERE ready_at <= ? ORDER BY ready_at, created_at LIMIT ?'),
      // Walks queue_destination_ready; each row found is then leased by its key (see claimFrom).
      claimableIn: db.prepare('SELECT message_id, attempts FROM queue WHERE destination = ? AND ready_at <= ? ORDER BY ready_at LIMIT ?'),
      // A loose index scan: one index seek per destination, however many messages each holds.
      waiting: db.prepare(`WITH RECURSIVE d(dest) AS (
          SELECT (SELECT destination FROM queue ORDER BY destination LIMIT 1)
          UNION ALL
          SELECT (SELECT destination FROM queue WHERE destination > d.dest ORDER BY destination LIMIT 1) FROM d WHERE d.dest IS NOT NULL
        )
        SELECT dest AS destination, (SELECT MIN(ready_at) FROM queue WHERE destination = d.dest) AS ready_at FROM d WHERE dest IS NOT NULL`),
      destinationDepths: db.prepare(`SELECT destination,
          SUM(CASE WHEN lease_owner IS NULL AND ready_at <= @now THEN 1 ELSE 0 END) AS ready,
          SUM(CASE WHEN lease_owner IS NULL AND ready_at > @now THEN 1 ELSE 0 END) AS scheduled,
          SUM(CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END) AS leased,
          MIN(created_at) AS oldest
        FROM queue GROUP BY destination ORDER BY COUNT(*) DESC, destination`),
      list: db.prepare(`SELECT q.message_id, q.account_id, m.recipient, q.destination, q.lease_owner, q.attempts, q.ready_at,
          q.created_at, q.last_response
        FROM queue q JOIN messages m ON m.id = q.message_id
        WHERE @destination IS NULL OR q.destination = @destination
        ORDER BY q.created_at, q.message_id LIMIT @limit`),
      retryNow: db.prepare('UPDATE queue SET ready_at = ? WHERE destination = ? AND lease_owner IS NULL AND ready_at > ?'),
      purgeable: db.prepare(`SELECT q.message_id, q.account_id, m.recipient FROM queue q JOIN messages m ON m.id = q.message_id
        WHERE q.destination = ? AND q.lease_owner IS NULL LIMIT ?`),
      purgeOne: db.prepare('DELETE FROM queue WHERE message_id = ? AND lease_owner IS NULL'),
      lease: db.prepare('UPDATE queue SET lease_owner = ?, ready_at = ? WHERE message_id = ?'),
      messageById: db.prepare('SELECT * FROM messages WHERE id = ?'),
      requestById: db.prepare('SELECT payload FROM requests WHERE id = ?'),
      extend: db.prepare('UPDATE queue SET ready_at = ? WHERE message_id = ? AND lease_owner = ?'),
      remove: db.prepare('DELETE FROM queue WHERE message_id = ? AND lease_owner = ?'),
      defer: db.prepare(`UPDATE queue SET ready_at = ?, lease_owner = NULL, attempts = attempts + 1, last_response = ?
        WHERE message_id = ? AND lease_owner = ?`),
      releaseOwner: db.prepare('UPDATE queue SET ready_at = ?, lease_owner = NULL WHERE lease_owner = ?'),
      releaseAll: db.prepare('UPDATE queue SET ready_at = ?, lease_owner = NULL WHERE lease_owner IS NOT NULL'),
      // The loose index scan of `waiting`: one seek per destination on queue_destination_ready.
      nextReady: db.prepare(`WITH RECURSIVE d(dest) AS (
          SELECT (SELECT destination FROM queue ORDER BY destination LIMIT 1)
          UNION ALL
          SELECT (SELECT destination FROM queue WHERE destination > d.dest ORDER BY destination LIMIT 1) FROM d WHERE d.dest IS NOT NULL
        )
        SELECT MIN((SELECT MIN(ready_at) FROM queue WHERE destination = d.dest)) AS at FROM d WHERE dest IS NOT NULL`),
      depth: db.prepare(`SELECT
          SUM(CASE WHEN lease_owner IS NULL AND ready_at <= @now THEN 1 ELSE 0 END) AS ready,
          SUM(CASE WHEN lease_owner IS NULL AND ready_at > @now THEN 1 ELSE 0 END) AS scheduled,
          SUM(CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END) AS leased,
          MIN(created_at) AS oldest
        FROM queue`),
      accountDepth: db.prepare(`SELECT
          SUM(CASE WHEN lease_owner IS NULL AND ready_at <= @now THEN 1 ELSE 0 END) AS ready,
          SUM(CASE WHEN lease_owner IS NULL AND ready_at > @now THEN 1 ELSE 0 END) AS scheduled,
          SUM(CASE WHEN lease_owner IS NOT NULL THEN 1 ELSE 0 END) AS leased,
          MIN(created_at) AS oldest
        FROM queue WHERE account_id = @account`),
    };
  }

  async enqueue(accepted: AcceptedRequest): Promise<void> {
    const destinations = accepted.messages.map((m) => destinationOf(m.recipient));
    await this.connections.accept.committer.submit(() => {
      this.stmt.insertRequest.run(accepted.requestId, accepted.accountId, JSON.stringify(accepted.request), accepted.acceptedAt);
      accepted.messages.forEach((m, i) => {
        this.stmt.insertMessage.run(messageToRow(m));
        this.stmt.insertQueue.run(m.id, m.accountId, destinations[i], m.readyAt, m.createdAt);
        const processed: HeraldEvent = {
          type: 'processed',
          id: newEventId(),
          accountId: m.accountId,
          messageId: m.id,
          email: m.recipient,
          timestamp: accepted.acceptedAt,
        };
        this.stmt.acceptEvent.run(eventToRow(processed));
      });
    });
    for (const m of accepted.messages) this.fresh.set(m.id, m);
    while (this.fresh.size > FRESH_MESSAGES) this.fresh.delete(this.fresh.keys().next().value!);
    this.ready.emit('ready', [...new Set(destinations)]);
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedMessage[]> {
    const now = Date.now();
    // Inside an IMMEDIATE transaction no other writer can claim between the select and the lease.
    return this.db
      .transaction(() => this.lease(this.stmt.claimable.all(now, limit) as ClaimableRow[], owner, now + leaseMs))
      .immediate();
  }

  async claimFrom(owner: string, wants: readonly DestinationClaim[], leaseMs: number): Promise<ClaimedMessage[]> {
    const now = Date.now();
    const until = now + leaseMs;
    return this.db
      .transaction(() => {
        // A SELECT, then an UPDATE by key per row. One UPDATE ... WHERE message_id IN (SELECT ...)
        // RETURNING leases the same rows but costs about three times as much per claim of 8
        // (measured: 31 µs a row against 10, on this schema).
        const rows: ClaimableRow[] = [];
        for (const want of wants) {
          if (want.limit <= 0) continue;
          for (const row of this.stmt.claimableIn.all(want.destination, now, want.limit) as ClaimableRow[]) rows.push(row);
        }
        return this.lease(rows, owner, until);
      })
      .immediate();
  }

  /** Leases the selected rows and loads their messages and requests; runs inside the claim's transaction. */
  private lease(rows: ClaimableRow[], owner: string, leaseUntil: number): ClaimedMessage[] {
    for (const row of rows) this.stmt.lease.run(owner, leaseUntil, row.message_id);
    return this.load(rows, leaseUntil);
  }

  /** Loads the messages and requests of leased rows. */
  private load(rows: ClaimableRow[], leaseUntil: number): ClaimedMessage[] {
    const out: ClaimedMessage[] = [];
    for (const row of rows) {
      let message = this.fresh.get(row.message_id);
      if (message) this.fresh.delete(row.message_id);
      else {
        const m = this.stmt.messageById.get(row.message_id) as MessageRow | undefined;
        if (!m) continue;
        message = rowToMessage(m);
      }
      let request = this.requests.get(message.requestId);
      if (request) {
        // Most recently used last.
        this.requests.delete(message.requestId);
        this.requests.set(message.requestId, request);
      } else {
        const r = this.stmt.requestById.get(message.requestId) as { payload: string } | undefined;
        if (!r) continue;
        request = JSON.parse(r.payload) as MailRequest;
        if (r.payload.length <= CACHED_REQUEST_MAX_CHARS) {
          this.requests.set(message.requestId, request);
          if (this.requests.size > CACHED_REQUESTS) this.requests.delete(this.requests.keys().next().value!);
        }
      }
      out.push({ message, request, attempts: row.attempts, leaseUntil });
    }
    return out;
  }

  async waitingDestinations(): Promise<WaitingDestination[]> {
    return (this.stmt.waiting.all() as { destination: string; ready_at: number }[]).map((r) => ({ destination: r.destination, readyAt: r.ready_at }));
  }

  async extendLease(owner: string, messageIds: string[], leaseMs: number): Promise<string[]> {
    const until = Date.now() + leaseMs;
    return this.connections.relaxed.committer.submit(() => messageIds.filter((id) => this.stmt.extend.run(until, id, owner).changes > 0));
  }

  async complete(owner: string, event: FinalEvent): Promise<boolean> {
    return this.connections.relaxed.committer.submit(() => {
      const held = this.stmt.remove.run(event.messageId, owner).changes > 0;
      // The event happened whether or not the lease was still ours: record it either way.
      this.record(event);
      return held;
    });
  }

  async defer(owner: string, event: DeferredEvent): Promise<boolean> {
    const held = await this.connections.relaxed.committer.submit(() => {
      const held = this.stmt.defer.run(event.nextAttemptAt, event.response, event.messageId, owner).changes > 0;
      this.record(event);
      return held;
    });
    return held;
  }

  async release(owner: string | null): Promise<number> {
    const now = Date.now();
    const result = owner === null ? this.stmt.releaseAll.run(now) : this.stmt.releaseOwner.run(now, owner);
    if (result.changes > 0) this.ready.emit('ready', null);
    return result.changes;
  }

  async nextReadyAt(): Promise<number | null> {
    return (this.stmt.nextReady.get() as { at: number | null }).at;
  }

  async depth(accountId?: string): Promise<QueueDepth> {
    const now = Date.now();
    const row = (accountId === undefined ? this.stmt.depth.get({ now }) : this.stmt.accountDepth.get({ now, account: accountId })) as { ready: number | null; scheduled: number | null; leased: number | null; oldest: number | null };
    return { ready: row.ready ?? 0, scheduled: row.scheduled ?? 0, leased: row.leased ?? 0, oldestCreatedAt: row.oldest };
  }

  async destinationDepths(): Promise<DestinationDepth[]> {
    const rows = this.stmt.destinationDepths.all({ now: Date.now() }) as { destination: string; ready: number; scheduled: number; leased: number; oldest: number }[];
    return rows.map((r) => ({ destination: r.destination, ready: r.ready, scheduled: r.scheduled, leased: r.leased, oldestCreatedAt: r.oldest }));
  }

  async list(options: QueueListOptions): Promise<QueueEntry[]> {
    const now = Date.now();
    const rows = this.stmt.list.all({ destination: options.destination ?? null, limit: options.limit }) as QueueEntryRow[];
    return rows.map((r) => toQueueEntry(r, now));
  }

  async retryNow(destination: string): Promise<number> {
    const now = Date.now();
    const changed = await this.connections.relaxed.committer.submit(() => this.stmt.retryNow.run(now, destination, now).changes);
    if (changed > 0) this.ready.emit('ready', [destination]);
    return changed;
  }

  async purge(destination: string, reason: string): Promise<number> {
    const CHUNK = 500; // rows per transaction, so a huge purge never holds the write lock for long
    let total = 0;
    for (;;) {
      const removed = await this.connections.relaxed.committer.submit(() => {
        const rows = this.stmt.purgeable.all(destination, CHUNK) as { message_id: string; account_id: string; recipient: string }[];
        let n = 0;
        for (const row of rows) {
          if (this.stmt.purgeOne.run(row.message_id).changes === 0) continue;
          const event: DroppedEvent = { type: 'dropped', id: newEventId(), accountId: row.account_id, messageId: row.message_id, email: row.recipient, timestamp: Date.now(), reason };
          this.record(event);
          n++;
        }
        return rows.length === 0 ? -1 : n;
      });
      if (removed < 0) return total;
      total += removed;
    }
  }

  onReady(listener: (destinations: readonly string[] | null) => void): () => void {
    this.ready.on('ready', listener);
    return () => this.ready.off('ready', listener);
  }

  private record(event: HeraldEvent): void {
    if (this.stmt.insertEvent.run(eventToRow(event)).changes === 0) return;
    this.stmt.setStatus.run(activityStatus(event.type), event.type, event.timestamp, event.messageId);
    const listed = autoSuppression(event);
    if (listed) {
      this.stmt.suppress.run({ account_id: event.accountId, email: event.email.toLowerCase(), list: listed.list, reason: listed.reason, status: listed.status, ip: null, created_at: event.timestamp });
    }
  }
}


