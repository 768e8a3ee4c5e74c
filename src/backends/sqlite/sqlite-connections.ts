import Database from 'better-sqlite3';
import { GroupCommitter } from './group-commit.js';
import { WalSync } from './wal-sync.js';

export interface SqliteConnection {
  db: Database.Database;
  committer: GroupCommitter;
  /** Closes the connection once its pending commits are answered. */
  close(): Promise<void>;
}

/**
 * Three ways of writing to the same WAL file, alike but for how commits reach the disk:
 * - `accept` (synchronous=NORMAL and WalSync): commits in groups, and its callers are answered
 *   after an fsync of the WAL made off the event loop: as durable as FULL, for accepted mail
 *   and recipients' unsubscribes, at the highest rates;
 * - `durable` (synchronous=FULL): the WAL is fsynced at every commit, for what was promised to a
 *   caller at low rates (keys, accounts, templates, domains, suppressions added by the API);
 * - `relaxed` (synchronous=NORMAL): safe against a process crash, and after a power cut it may
 *   lose its last commits, for what can be redone (leases, delivery outcomes, captured mail).
 *
 * `accept` and `relaxed` are one SQLite connection with two group committers: both commit with
 * synchronous=NORMAL, and they differ only in what a caller waits for. A connection drops its
 * whole page cache when it finds the file changed by another connection, so two connections
 * taking turns (an accept, a claim, an outcome, ...) would each read every page again from the
 * WAL at almost every transaction. `durable` keeps a connection of its own, at low rates.
 * All run on the event loop's thread, so their transactions never interleave.
 */
export interface SqliteConnections {
  accept: SqliteConnection;
  durable: SqliteConnection;
  relaxed: SqliteConnection;
}

/** How long outcomes on the relaxed connection wait to share a commit, ms. */
const RELAXED_WINDOW_MS = 5;

export function openConnection(path: string, synchronous: 'FULL' | 'NORMAL'): SqliteConnection {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    // The queue's and the event log's indexes are read and written for every message: keep them
    // in memory rather than re-reading pages through the OS for each lookup (default: 2 MiB).
    db.pragma('cache_size = -65536'); // KiB: 64 MiB per connection
    db.pragma('temp_store = MEMORY');
  } catch (error) {
    db.close();
    throw error;
  }
  return withCommitter(db, path, synchronous, () => db.close());
}

/**
 * A second committer on `connection`'s database (synchronous=NORMAL), whose callers are answered
 * only once the WAL is fsynced: see `accept` in SqliteConnections. Closing it leaves the
 * connection open.
 */
export function durableCommitsOn(connection: SqliteConnection, path: string): SqliteConnection {
  return withCommitter(connection.db, path, 'NORMAL+WALSYNC', () => {});
}

function withCommitter(db: Database.Database, path: string, synchronous: 'FULL' | 'NORMAL' | 'NORMAL+WALSYNC', closeDb: () => void): SqliteConnection {
  // Accepts keep the end-of-turn commit: a caller waits for its 202. Outcomes and leases can wait
  // a few milliseconds for company.
  const walSync = synchronous === 'NORMAL+WALSYNC' ? new WalSync(`${path}-wal`) : null;
  const committer = new GroupCommitter(db, synchronous === 'NORMAL' ? RELAXED_WINDOW_MS : 0, 2000, walSync ? () => walSync.sync() : null);
  return {
    db,
    committer,
    async close() {
      committer.flush();
      await walSync?.close();
      closeDb();
    },
  };
}
