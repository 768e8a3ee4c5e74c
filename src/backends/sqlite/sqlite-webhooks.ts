import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { KeySealer } from '../../domains/key-sealing.js';
import {
  DELIVERY_LOG_SIZE,
  type BatchOutcome,
  type ClaimedBatch,
  type ClaimOptions,
  type DeliveryRecord,
  type EndpointSettings,
  type FanOutTarget,
  type OutboxEntry,
  type WebhookEndpoint,
  type WebhookStore,
} from '../../webhooks/webhook-store.js';
import { ENDPOINT_COLUMNS, rowToDelivery, rowToEndpoint, type DeliveryRow, type EndpointRow, type OutboxRow } from '../webhook-rows.js';

/**
 * Webhook endpoints and dispatch state on the durable connection: the cursor and the outbox
 * written by fan-out are the only record of where dispatch is, so they are fsynced like
 * configuration (a cursor committed with FULL also makes durable every event before it).
 */
export class SqliteWebhooks implements WebhookStore {
  private readonly s;

  constructor(private readonly db: Database.Database, private readonly sealer: KeySealer) {
    this.s = {
      count: db.prepare('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = ?'),
      insert: db.prepare(`INSERT INTO webhook_endpoints (id, account_id, url, enabled, event_types, friendly_name, created_at, updated_at)
        VALUES (@id, @account_id, @url, @enabled, @event_types, @friendly_name, @now, @now)`),
      list: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? ORDER BY created_at, rowid`),
      get: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = ? AND id = ?`),
      // A new URL is a new receiver: whatever backoff the old one earned does not apply to it.
      update: db.prepare(`UPDATE webhook_endpoints SET url = @url, enabled = @enabled, event_types = @event_types, friendly_name = @friendly_name, updated_at = @now,
          retry_at = CASE WHEN url = @url THEN retry_at ELSE 0 END, attempts = CASE WHEN url = @url THEN attempts ELSE 0 END
        WHERE account_id = @account_id AND id = @id`),
      remove: db.prepare('DELETE FROM webhook_endpoints WHERE account_id = ? AND id = ?'),
      setKey: db.prepare('UPDATE webhook_endpoints SET public_key = ?, private_key = ?, updated_at = ? WHERE account_id = ? AND id = ?'),
      deliveries: db.prepare(`SELECT attempted_at, outcome, events, status, error, duration_ms FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?`),
      targets: db.prepare('SELECT id, account_id, event_types FROM webhook_endpoints WHERE enabled = 1'),
      cursor: db.prepare("SELECT seq FROM webhook_cursor WHERE name = 'events'"),
      moveCursor: db.prepare("UPDATE webhook_cursor SET seq = ? WHERE name = 'events' AND seq = ?"),
      enqueue: db.prepare('INSERT INTO webhook_outbox (endpoint_id, event_id, payload, enqueued_at) VALUES (?, ?, ?, ?)'),
      due: db.prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e
        WHERE e.enabled = 1 AND e.lease_until <= @now AND e.retry_at <= @now AND (
          (SELECT o.enqueued_at FROM webhook_outbox o WHERE o.endpoint_id = e.id ORDER BY o.seq LIMIT 1) <= @now - @wait
          OR (SELECT COUNT(*) FROM (SELECT 1 FROM webhook_outbox o WHERE o.endpoint_id = e.id LIMIT @max)) >= @max)
        ORDER BY e.retry_at LIMIT @n`),
      lease: db.prepare('UPDATE webhook_endpoints SET lease_owner = ?, lease_until = ? WHERE id = ?'),
      head: db.prepare('SELECT seq, event_id, payload, enqueued_at FROM webhook_outbox WHERE endpoint_id = ? ORDER BY seq LIMIT ?'),
      holder: db.prepare('SELECT lease_owner, attempts FROM webhook_endpoints WHERE id = ?'),
      removeUpTo: db.prepare('DELETE FROM webhook_outbox WHERE endpoint_id = ? AND seq <= ?'),
      drop: db.prepare('DELETE FROM webhook_outbox WHERE endpoint_id = ? AND (seq <= ? OR enqueued_at < ?)'),
      settled: db.prepare('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0, retry_at = ?, attempts = ? WHERE id = ?'),
      record: db.prepare(`INSERT INTO webhook_deliveries (endpoint_id, attempted_at, outcome, events, status, error, duration_ms)
        VALUES (@endpoint_id, @attempted_at, @outcome, @events, @status, @error, @duration_ms)`),
      prune: db.prepare(`DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND id <= (
        SELECT id FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ${DELIVERY_LOG_SIZE})`),
      releaseOwner: db.prepare('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = ?'),
      releaseAll: db.prepare('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner IS NOT NULL'),
      oldest: db.prepare(`SELECT MIN((SELECT o.enqueued_at FROM webhook_outbox o WHERE o.endpoint_id = e.id ORDER BY o.seq LIMIT 1)) AS oldest
        FROM webhook_endpoints e WHERE e.enabled = 1`),
    };
  }

  async create(accountId: string, settings: EndpointSettings, max: number, now: number): Promise<WebhookEndpoint | 'limit'> {
    const id = randomUUID();
    const made = this.db.transaction(() => {
      if ((this.s.count.get(accountId) as { n: number }).n >= max) return false;
      this.s.insert.run({ id, account_id: accountId, url: settings.url, enabled: settings.enabled ? 1 : 0, event_types: JSON.stringify(settings.eventTypes), friendly_name: settings.friendlyName, now });
      return true;
    }).immediate();
    if (!made) return 'limit';
    return (await this.get(accountId, id))!;
  }

  async list(accountId: string): Promise<WebhookEndpoint[]> {
    return (this.s.list.all(accountId) as EndpointRow[]).map(rowToEndpoint);
  }

  async get(accountId: string, id: string): Promise<WebhookEndpoint | null> {
    const row = this.s.get.get(accountId, id) as EndpointRow | undefined;
    return row ? rowToEndpoint(row) : null;
  }

  async update(accountId: string, id: string, changes: Partial<EndpointSettings>, now: number): Promise<WebhookEndpoint | null> {
    const current = await this.get(accountId, id);
    if (!current) return null;
    const next = { ...current, ...changes };
    this.s.update.run({ id, account_id: accountId, url: next.url, enabled: next.enabled ? 1 : 0, event_types: JSON.stringify(next.eventTypes), friendly_name: next.friendlyName, now });
    return this.get(accountId, id);
  }

  async remove(accountId: string, id: string): Promise<boolean> {
    return this.s.remove.run(accountId, id).changes > 0;
  }

  async setSigningKey(accountId: string, id: string, key: { publicKey: string; privateKeyPem: string } | null, now: number): Promise<WebhookEndpoint | null> {
    const changed = this.s.setKey.run(key?.publicKey ?? null, key ? this.sealer.seal(key.privateKeyPem) : null, now, accountId, id).changes;
    return changed > 0 ? this.get(accountId, id) : null;
  }

  async signingKey(accountId: string, id: string): Promise<string | null> {
    const row = this.s.get.get(accountId, id) as EndpointRow | undefined;
    return row?.private_key ? this.sealer.open(row.private_key) : null;
  }

  async deliveries(accountId: string, id: string, limit: number): Promise<DeliveryRecord[] | null> {
    if (!this.s.get.get(accountId, id)) return null;
    return (this.s.deliveries.all(id, limit) as DeliveryRow[]).map(rowToDelivery);
  }

  async targets(): Promise<FanOutTarget[]> {
    return (this.s.targets.all() as { id: string; account_id: string; event_types: string }[]).map((r) => ({ id: r.id, accountId: r.account_id, eventTypes: JSON.parse(r.event_types) }));
  }

  async cursor(): Promise<number> {
    return (this.s.cursor.get() as { seq: number }).seq;
  }

  async fanOut(from: number, to: number, entries: readonly OutboxEntry[], now: number): Promise<boolean> {
    return this.db.transaction(() => {
      if (this.s.moveCursor.run(to, from).changes === 0) return false;
      for (const e of entries) this.s.enqueue.run(e.endpointId, e.eventId, e.payload, now);
      return true;
    }).immediate();
  }

  async claim(owner: string, now: number, options: ClaimOptions): Promise<ClaimedBatch[]> {
    const claimed = this.db.transaction(() => {
      const rows = this.s.due.all({ now, wait: options.batchWaitMs, max: options.batchMaxEvents, n: options.endpoints }) as EndpointRow[];
      for (const r of rows) this.s.lease.run(owner, now + options.leaseMs, r.id);
      return rows.map((r) => ({ row: r, entries: this.s.head.all(r.id, options.batchMaxEvents) as OutboxRow[] }));
    }).immediate();
    return claimed.map(({ row, entries }) => ({
      endpoint: { id: row.id, accountId: row.account_id, url: row.url, privateKeyPem: row.private_key === null ? null : this.sealer.open(row.private_key) },
      attempts: row.attempts,
      entries: entries.map((e) => ({ seq: e.seq, eventId: e.event_id, payload: e.payload, enqueuedAt: e.enqueued_at })),
    }));
  }

  async settle(owner: string, endpointId: string, outcome: BatchOutcome, record: DeliveryRecord): Promise<number | null> {
    return this.db.transaction(() => {
      const holder = this.s.holder.get(endpointId) as { lease_owner: string | null; attempts: number } | undefined;
      if (!holder || holder.lease_owner !== owner) return null;
      let removed = 0;
      if (outcome.kind === 'delivered') {
        removed = this.s.removeUpTo.run(endpointId, outcome.upToSeq).changes;
        this.s.settled.run(0, 0, endpointId);
      } else {
        if (outcome.kind === 'dropped') removed = this.s.drop.run(endpointId, outcome.upToSeq, outcome.enqueuedBefore).changes;
        this.s.settled.run(outcome.retryAt, holder.attempts + 1, endpointId);
      }
      const events = outcome.kind === 'dropped' ? removed : record.events;
      this.s.record.run({ endpoint_id: endpointId, attempted_at: record.attemptedAt, outcome: record.outcome, events, status: record.status, error: record.error, duration_ms: record.durationMs });
      this.s.prune.run(endpointId, endpointId);
      return removed;
    }).immediate();
  }

  async release(owner: string | null): Promise<void> {
    if (owner === null) this.s.releaseAll.run();
    else this.s.releaseOwner.run(owner);
  }

  async oldestWaiting(): Promise<number | null> {
    return (this.s.oldest.get() as { oldest: number | null }).oldest;
  }
}
