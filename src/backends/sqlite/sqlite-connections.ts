import Database from 'better-sqlite3';
import { GroupCommitter } from './group-commit.js';

export interface SqliteConnection {
  db: Database.Database;
  committer: GroupCommitter;
}

/**
 * Two connections to the same WAL file, alike but for how commits reach the disk:
 * - `durable` (synchronous=FULL): the WAL is fsynced at every commit, for what was promised to a
 *   caller (accepted mail, keys, accounts);
 * - `relaxed` (synchronous=NORMAL): safe against a process crash, and after a power cut it may
 *   lose its last commits, for what can be redone (leases, delivery outcomes, captured mail).
 * Both run on the event loop's thread, so their transactions never interleave.
 */
export interface SqliteConnections {
  durable: SqliteConnection;
  relaxed: SqliteConnection;
}

/** How long outcomes on the relaxed connection wait to share a commit, ms. */
const RELAXED_WINDOW_MS = 5;

export function openConnection(path: string, synchronous: 'FULL' | 'NORMAL'): SqliteConnection {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
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
  // Accepts keep the end-of-turn commit: a caller waits for its 202. Outcomes and leases can wait
  // a few milliseconds for company.
  return { db, committer: new GroupCommitter(db, synchronous === 'NORMAL' ? RELAXED_WINDOW_MS : 0) };
}
