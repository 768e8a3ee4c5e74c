import pg from 'pg';
import type { Backend, OpenBackendOptions } from '../backend.js';
import { keySealer } from '../../domains/key-sealing.js';
import { PgDatabase } from './pg-database.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { PostgresQueue } from './postgres-queue.js';
import { PostgresEventLog } from './postgres-event-log.js';
import { PostgresEngagement } from './postgres-engagement.js';
import { PostgresSecrets } from './postgres-secrets.js';
import { PostgresTrackingSettings } from './postgres-tracking-settings.js';
import { PostgresSlos } from './postgres-slos.js';
import { PostgresDashboard } from './postgres-dashboard.js';
import { PostgresActivity } from './postgres-activity.js';
import { PostgresAccounts } from './postgres-accounts.js';
import { PostgresInbox } from './postgres-inbox.js';
import { PostgresTemplates } from './postgres-templates.js';
import { PostgresSuppressions } from './postgres-suppressions.js';
import { PostgresDomains } from './postgres-domains.js';
import { PostgresWebhooks } from './postgres-webhooks.js';
import { PostgresAccountLimits } from './postgres-account-limits.js';
import { PostgresRateLimiter } from './postgres-rate-limiter.js';
import { PostgresPeers } from './postgres-peers.js';
import { PostgresStats } from './postgres-stats.js';

export interface PostgresSettings {
  databaseUrl: string;
  /** Schema for Herald's tables (created if missing); null: the server's search_path. */
  databaseSchema: string | null;
  databasePoolSize: number;
  dkimKeyEncryptionKey: string | null;
}

/** pg hands BIGINT and COUNT(*) back as strings; Herald's are epoch ms and counts, well within 2^53. */
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A pool on Herald's schema with its types, its connect timeout, and listeners that keep a dropped
 * connection from crashing the process. `extra` adds server settings for its connections.
 */
export function createPool(settings: Pick<PostgresSettings, 'databaseUrl' | 'databaseSchema'> & { databasePoolSize?: number }, extra = ''): pg.Pool {
  const options = [settings.databaseSchema ? `-c search_path=${settings.databaseSchema}` : '', extra].filter(Boolean).join(' ');
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: settings.databasePoolSize ?? 1,
    types,
    // Every connection works in Herald's schema; the name is checked at config load (an identifier).
    ...(options ? { options } : {}),
    connectionTimeoutMillis: 10_000,
  });
  // A client losing its server (restart, failover, admin shutdown) emits 'error'; unheard, that
  // would crash the process. Idle clients are reported on the pool, checked-out ones (a
  // transaction, the LISTEN connection) on themselves: their running query rejects anyway, the
  // pool drops them, and the next query opens a fresh connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Opens the pool, applies missing migrations under an advisory lock, and builds every port on it. */
export async function openPostgresBackend(settings: PostgresSettings, _options: OpenBackendOptions = {}): Promise<Backend> {
  const pool = createPool(settings);
  // Leases and outcomes: no wait for the WAL flush (see PostgresQueue).
  const relaxedPool = createPool(settings, '-c synchronous_commit=off');
  const db = new PgDatabase(pool);
  try {
    await migratePostgres(db, settings.databaseSchema);
  } catch (error) {
    await pool.end();
    await relaxedPool.end();
    throw error;
  }
  const queue = new PostgresQueue(db, new PgDatabase(relaxedPool));
  return {
    kind: 'postgres',
    accounts: new PostgresAccounts(db),
    limits: new PostgresAccountLimits(db, new PgDatabase(relaxedPool)),
    queue,
    events: new PostgresEventLog(db),
    engagement: new PostgresEngagement(db),
    secrets: new PostgresSecrets(db),
    trackingSettings: new PostgresTrackingSettings(db),
    // Counts are measurements: no wait for the WAL flush, like the queue's outcomes.
    slos: new PostgresSlos(new PgDatabase(relaxedPool)),
    dashboard: new PostgresDashboard(db),
    activity: new PostgresActivity(db),
    inbox: new PostgresInbox(db),
    templates: new PostgresTemplates(db),
    domains: new PostgresDomains(db, keySealer(settings.dkimKeyEncryptionKey)),
    suppressions: new PostgresSuppressions(db),
    webhooks: new PostgresWebhooks(db, keySealer(settings.dkimKeyEncryptionKey)),
    stats: new PostgresStats(db),
    rates: new PostgresRateLimiter(db),
    peers: new PostgresPeers(new PgDatabase(relaxedPool)),
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      await queue.close();
      await pool.end();
      await relaxedPool.end();
    },
  };
}


/**
 * Applies the migrations this database lacks, in order, and returns their ids. Holds a session
 * advisory lock for the whole run, so concurrent starts wait for each other and each migration is
 * applied once; each migration commits on its own with its row in `schema_migrations`.
 */
export async function migratePostgres(db: PgDatabase, schema: string | null): Promise<number[]> {
  const client = await db.pool.connect();
  const applied: number[] = [];
  try {
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    // One lock per schema, so two Herald installations in one database do not wait for each other.
    const lockName = `herald.migrations.${schema ?? (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s}`;
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockName]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
      for (const m of POSTGRES_MIGRATIONS) {
        if (done.has(m.id)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw new Error(`PostgreSQL migration ${m.id} (${m.name}) failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(m.id);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName]).catch(() => {});
    }
  } finally {
    client.release();
  }
  return applied;
}
