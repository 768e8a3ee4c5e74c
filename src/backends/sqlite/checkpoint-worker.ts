import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/**
 * Runs in a worker thread (see checkpointer.ts): copies the WAL back into the database file every
 * `intervalMs` with a PASSIVE checkpoint, which never waits for or blocks the writers, so the
 * copying and its fsyncs happen off the event loop's thread.
 */
const { path, intervalMs } = workerData as { path: string; intervalMs: number };
const db = new Database(path);
db.pragma('busy_timeout = 100');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or failing: the next round tries again, and the writers' own autocheckpoint is the backstop.
  }
}, intervalMs);
parentPort!.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
