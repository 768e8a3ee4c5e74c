import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Backend, OpenBackendOptions } from '../backend.js';
import { durableCommitsOn, openConnection, type SqliteConnections } from './sqlite-connections.js';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, Checkpointer } from './checkpointer.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteEngagement } from './sqlite-engagement.js';
import { SqliteSecrets } from './sqlite-secrets.js';
import { SqliteTrackingSettings } from './sqlite-tracking-settings.js';
import { SqliteSlos } from './sqlite-slos.js';
import { SqliteDashboard } from './sqlite-dashboard.js';
import { SqliteActivity } from './sqlite-activity.js';
import { SqliteAccounts } from './sqlite-accounts.js';
import { SqliteAccountLimits } from './sqlite-account-limits.js';
import { SqliteInbox } from './sqlite-inbox.js';
import { SqliteTemplates } from './sqlite-templates.js';
import { SqliteSuppressions } from './sqlite-suppressions.js';
import { SqliteDomains } from './sqlite-domains.js';
import { SqliteWebhooks } from './sqlite-webhooks.js';
import { SqliteStats } from './sqlite-stats.js';
import { keySealer } from '../../domains/key-sealing.js';
import { lockDataDir } from './data-dir-lock.js';

/** The embedded backend: one SQLite file in WAL mode holds every port's state. */
/** Secrets the backend needs from the configuration. */
export interface SqliteKeySettings {
  /** Seals DKIM private keys at rest; null stores them as plain PEM. */
  dkimKeyEncryptionKey: string | null;
}

export async function openSqliteBackend(dataDir: string, options: OpenBackendOptions, secrets: SqliteKeySettings = { dkimKeyEncryptionKey: null }): Promise<Backend> {
  mkdirSync(dataDir, { recursive: true });
  const unlock = options.exclusive ? lockDataDir(dataDir) : () => {};
  const path = join(dataDir, 'herald.db');
  let connections: SqliteConnections;
  try {
    const durable = openConnection(path, 'FULL');
    try {
      migrate(durable.db);
      const relaxed = openConnection(path, 'NORMAL');
      connections = { durable, relaxed, accept: durableCommitsOn(relaxed, path) };
    } catch (error) {
      durable.db.close();
      throw error;
    }
  } catch (error) {
    unlock();
    throw error;
  }
  const { durable, relaxed, accept } = connections;
  // The server (exclusive) checkpoints from a worker thread; a CLI command keeps SQLite's own.
  let checkpointer: Checkpointer | null = null;
  if (options.exclusive) {
    for (const c of [durable, relaxed]) c.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`); // accept is relaxed's
    checkpointer = new Checkpointer(path);
  }
  const queue = new SqliteQueue(connections);
  if (options.exclusive) {
    // This process alone delivers from this directory: leases left by a killed one are void.
    await queue.release(null);
  }
  // Webhook signing keys are sealed like DKIM keys, with the same configured key.
  const webhooks = new SqliteWebhooks(durable.db, keySealer(secrets.dkimKeyEncryptionKey));
  if (options.exclusive) await webhooks.release(null);
  return {
    kind: 'sqlite',
    accounts: new SqliteAccounts(durable.db),
    // A counted message must stay counted across power loss, or a crash could give extra quota.
    limits: new SqliteAccountLimits(durable.db, durable.committer),
    queue,
    events: new SqliteEventLog(relaxed.db, relaxed.committer),
    engagement: new SqliteEngagement(accept.db, accept.committer),
    secrets: new SqliteSecrets(durable.db),
    // Settings, like templates: a 200 to a PATCH must survive power loss.
    trackingSettings: new SqliteTrackingSettings(durable.db),
    slos: new SqliteSlos(relaxed.db, relaxed.committer),
    // Users and sessions: a sign-in the browser was told about survives power loss.
    dashboard: new SqliteDashboard(durable.db),
    activity: new SqliteActivity(relaxed.db),
    inbox: new SqliteInbox(relaxed.db, relaxed.committer),
    // Templates are configuration: a 201 must survive power loss, like an account or a key.
    templates: new SqliteTemplates(durable.db),
    // Sending domains hold keys a caller was given the public half of: durable too.
    domains: new SqliteDomains(durable.db, keySealer(secrets.dkimKeyEncryptionKey)),
    // Suppressions added through the API are promised to the caller: durable like templates.
    suppressions: new SqliteSuppressions(durable.db, relaxed.db),
    webhooks,
    stats: new SqliteStats(relaxed.db, relaxed.committer),
    rates: null,
    peers: null,
    async ping() {
      relaxed.db.prepare('SELECT 1').get();
    },
    async close() {
      await checkpointer?.stop();
      await accept.close();
      await relaxed.close();
      await durable.close();
      unlock();
    },
  };
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const apply = db.transaction(() => {
    const done = new Set((db.prepare('SELECT id FROM schema_migrations').all() as { id: number }[]).map((r) => r.id));
    for (const m of SQLITE_MIGRATIONS) {
      if (done.has(m.id)) continue;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)').run(m.id, m.name, Date.now());
    }
  });
  apply.immediate();
}
