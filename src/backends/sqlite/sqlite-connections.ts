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

export function openConnection(path: string, synchronous: 'FULL' | 'NORMAL'): SqliteConnection {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, committer: new GroupCommitter(db) };
}
