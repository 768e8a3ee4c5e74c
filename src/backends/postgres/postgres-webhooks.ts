import { randomUUID } from 'node:crypto';
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
import type { PgDatabase } from './pg-database.js';

/**
 * Endpoints leased FOR UPDATE SKIP LOCKED, as the queue leases messages: dispatchers in any number
 * of processes pass over each other's endpoints instead of waiting, and an endpoint leased
 * meanwhile fails the `lease_until <= now` recheck. Fan-out moves the shared cursor with a
 * compare-and-set in the same transaction as the outbox rows: of two processes fanning out the
 * same events, one commits and the other's transaction writes nothing.
 */
export class PostgresWebhooks implements WebhookStore {
  constructor(private readonly db: PgDatabase, private readonly sealer: KeySealer) {}

  async create(accountId: string, settings: EndpointSettings, max: number, now: number): Promise<WebhookEndpoint | 'limit'> {
    const id = randomUUID();
    const made = await this.db.transaction(async (tx) => {
      // One creator per account at a time, so two concurrent creates cannot both pass the limit.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`herald.webhooks.${accountId}`]);
      const { rows } = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_endpoints WHERE account_id = $1', [accountId]);
      if (rows[0]!.n >= max) return false;
      await tx.query(
        `INSERT INTO webhook_endpoints (id, account_id, url, enabled, event_types, friendly_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
        [id, accountId, settings.url, settings.enabled, JSON.stringify(settings.eventTypes), settings.friendlyName, now],
      );
      return true;
    });
    if (!made) return 'limit';
    return (await this.get(accountId, id))!;
  }

  async list(accountId: string): Promise<WebhookEndpoint[]> {
    return (await this.db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY created_at, id`, [accountId])).map(rowToEndpoint);
  }

  async get(accountId: string, id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND id = $2`, [accountId, id]);
    return row ? rowToEndpoint(row) : null;
  }

  async update(accountId: string, id: string, changes: Partial<EndpointSettings>, now: number): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.query<EndpointRow>(
      // A new URL is a new receiver: whatever backoff the old one earned does not apply to it.
      `UPDATE webhook_endpoints SET url = COALESCE($3, url),
        retry_at = CASE WHEN $3::text IS NULL OR $3::text = url THEN retry_at ELSE 0 END,
        attempts = CASE WHEN $3::text IS NULL OR $3::text = url THEN attempts ELSE 0 END,
        enabled = COALESCE($4, enabled), event_types = COALESCE($5, event_types),
        friendly_name = CASE WHEN $6 THEN $7 ELSE friendly_name END, updated_at = $8
        WHERE account_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [
        accountId,
        id,
        changes.url ?? null,
        changes.enabled ?? null,
        changes.eventTypes ? JSON.stringify(changes.eventTypes) : null,
        changes.friendlyName !== undefined,
        changes.friendlyName ?? null,
        now,
      ],
    );
    return row ? rowToEndpoint(row) : null;
  }

  async remove(accountId: string, id: string): Promise<boolean> {
    return (await this.db.query('DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2 RETURNING id', [accountId, id])).length > 0;
  }

  async setSigningKey(accountId: string, id: string, key: { publicKey: string; privateKeyPem: string } | null, now: number): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.query<EndpointRow>(
      `UPDATE webhook_endpoints SET public_key = $3, private_key = $4, updated_at = $5 WHERE account_id = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [accountId, id, key?.publicKey ?? null, key ? this.sealer.seal(key.privateKeyPem) : null, now],
    );
    return row ? rowToEndpoint(row) : null;
  }

  async signingKey(accountId: string, id: string): Promise<string | null> {
    const [row] = await this.db.query<{ private_key: string | null }>('SELECT private_key FROM webhook_endpoints WHERE account_id = $1 AND id = $2', [accountId, id]);
    return row?.private_key ? this.sealer.open(row.private_key) : null;
  }

  async deliveries(accountId: string, id: string, limit: number): Promise<DeliveryRecord[] | null> {
    if (!(await this.get(accountId, id))) return null;
    const rows = await this.db.query<DeliveryRow>(
      'SELECT attempted_at, outcome, events, status, error, duration_ms FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2',
      [id, limit],
    );
    return rows.map(rowToDelivery);
  }

  async targets(): Promise<FanOutTarget[]> {
    const rows = await this.db.query<{ id: string; account_id: string; event_types: string }>('SELECT id, account_id, event_types FROM webhook_endpoints WHERE enabled');
    return rows.map((r) => ({ id: r.id, accountId: r.account_id, eventTypes: JSON.parse(r.event_types) }));
  }

  async cursor(): Promise<number> {
    const [row] = await this.db.query<{ seq: number }>("SELECT seq FROM webhook_cursor WHERE name = 'events'");
    return row!.seq;
  }

  async fanOut(from: number, to: number, entries: readonly OutboxEntry[], now: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // The row lock makes a concurrent fan-out wait here, then find the cursor moved and write nothing.
      const moved = await tx.query("UPDATE webhook_cursor SET seq = $1 WHERE name = 'events' AND seq = $2", [to, from]);
      if (moved.rowCount === 0) return false;
      if (entries.length > 0) {
        await tx.query(
          `INSERT INTO webhook_outbox (endpoint_id, event_id, payload, enqueued_at)
            SELECT e.endpoint_id, e.event_id, e.payload, $4 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(endpoint_id, event_id, payload, ord)
            ORDER BY e.ord`,
          [entries.map((e) => e.endpointId), entries.map((e) => e.eventId), entries.map((e) => e.payload), now],
        );
      }
      return true;
    });
  }

  async claim(owner: string, now: number, options: ClaimOptions): Promise<ClaimedBatch[]> {
    const rows = await this.db.query<EndpointRow>(
      `UPDATE webhook_endpoints w SET lease_owner = $1, lease_until = $2 FROM (
          SELECT e.id FROM webhook_endpoints e
          WHERE e.enabled AND e.lease_until <= $3 AND e.retry_at <= $3 AND (
            (SELECT o.enqueued_at FROM webhook_outbox o WHERE o.endpoint_id = e.id ORDER BY o.seq LIMIT 1) <= $3::bigint - $4::bigint
            OR (SELECT COUNT(*) FROM (SELECT 1 FROM webhook_outbox o WHERE o.endpoint_id = e.id LIMIT $5::int) AS head) >= $5::int)
          ORDER BY e.retry_at LIMIT $6::int FOR UPDATE OF e SKIP LOCKED
        ) picked
        WHERE w.id = picked.id AND w.lease_until <= $3
        RETURNING ${ENDPOINT_COLUMNS.split(', ').map((c) => `w.${c}`).join(', ')}`,
      [owner, now + options.leaseMs, now, options.batchWaitMs, options.batchMaxEvents, options.endpoints],
    );
    const batches: ClaimedBatch[] = [];
    for (const row of rows) {
      const entries = await this.db.query<OutboxRow>('SELECT seq, event_id, payload, enqueued_at FROM webhook_outbox WHERE endpoint_id = $1 ORDER BY seq LIMIT $2', [row.id, options.batchMaxEvents]);
      batches.push({
        endpoint: { id: row.id, accountId: row.account_id, url: row.url, privateKeyPem: row.private_key === null ? null : this.sealer.open(row.private_key) },
        attempts: row.attempts,
        entries: entries.map((e) => ({ seq: e.seq, eventId: e.event_id, payload: e.payload, enqueuedAt: e.enqueued_at })),
      });
    }
    return batches;
  }

  async settle(owner: string, endpointId: string, outcome: BatchOutcome, record: DeliveryRecord): Promise<number | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ attempts: number }>('SELECT attempts FROM webhook_endpoints WHERE id = $1 AND lease_owner = $2 FOR UPDATE', [endpointId, owner]);
      if (rows.length === 0) return null;
      let removed = 0;
      if (outcome.kind === 'delivered') {
        removed = (await tx.query('DELETE FROM webhook_outbox WHERE endpoint_id = $1 AND seq <= $2', [endpointId, outcome.upToSeq])).rowCount ?? 0;
      } else if (outcome.kind === 'dropped') {
        removed = (await tx.query('DELETE FROM webhook_outbox WHERE endpoint_id = $1 AND (seq <= $2 OR enqueued_at < $3)', [endpointId, outcome.upToSeq, outcome.enqueuedBefore])).rowCount ?? 0;
      }
      const [retryAt, attempts] = outcome.kind === 'delivered' ? [0, 0] : [outcome.retryAt, rows[0]!.attempts + 1];
      await tx.query('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0, retry_at = $2, attempts = $3 WHERE id = $1', [endpointId, retryAt, attempts]);
      await tx.query(
        'INSERT INTO webhook_deliveries (endpoint_id, attempted_at, outcome, events, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [endpointId, record.attemptedAt, record.outcome, outcome.kind === 'dropped' ? removed : record.events, record.status, record.error, record.durationMs],
      );
      await tx.query(
        `DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND id <= (
          SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT 1 OFFSET ${DELIVERY_LOG_SIZE})`,
        [endpointId],
      );
      return removed;
    });
  }

  async release(owner: string | null): Promise<void> {
    if (owner === null) await this.db.query('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner IS NOT NULL');
    else await this.db.query('UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = 0 WHERE lease_owner = $1', [owner]);
  }

  async oldestWaiting(): Promise<number | null> {
    const [row] = await this.db.query<{ oldest: number | null }>(
      `SELECT MIN((SELECT o.enqueued_at FROM webhook_outbox o WHERE o.endpoint_id = e.id ORDER BY o.seq LIMIT 1)) AS oldest FROM webhook_endpoints e WHERE e.enabled`,
    );
    return row?.oldest ?? null;
  }
}
