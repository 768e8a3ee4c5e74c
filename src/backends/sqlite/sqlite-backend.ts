import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Backend, OpenBackendOptions } from '../backend.js';
import { GroupCommitter } from './group-commit.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteActivity } from './sqlite-activity.js';
import { SqliteAccounts } from './sqlite-accounts.js';
import { SqliteInbox } from './sqlite-inbox.js';
import { lockDataDir } from './data-dir-lock.js';

/** The embedded backend: one SQLite file in WAL mode holds every port's state. */
export async function openSqliteBackend(dataDir: string, options: OpenBackendOptions): Promise<Backend> {
  mkdirSync(dataDir, { recursive: true });
  const unlock = options.exclusive ? lockDataDir(dataDir) : () => {};
  let db: Database.Database;
  try {
    db = new Database(join(dataDir, 'herald.db'));
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so a 202 survives power loss, not only a crash.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (error) {
    unlock();
    throw error;
  }
  const committer = new GroupCommitter(db);
  const queue = new SqliteQueue(db, committer);
  if (options.exclusive) {
    // This process alone delivers from this directory: leases left by a killed one are void.
    await queue.release(null);
  }
  return {
    kind: 'sqlite',
    accounts: new SqliteAccounts(db),
    queue,
    events: new SqliteEventLog(db, committer),
    activity: new SqliteActivity(db),
    inbox: new SqliteInbox(db, committer),
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      committer.flush();
      db.close();
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
