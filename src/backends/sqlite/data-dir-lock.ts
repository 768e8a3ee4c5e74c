import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HeraldError } from '../../errors.js';

/**
 * One server per data directory. The lock is an exclusive SQLite lock on `herald.lock`, held for
 * the life of the process: the operating system drops it when the process dies, even by kill -9,
 * so a crash never leaves a stale lock and a reused pid never blocks start-up. `herald.pid` only
 * tells an operator which process holds it.
 */
export function lockDataDir(dataDir: string): () => void {
  const pidPath = join(dataDir, 'herald.pid');
  const lock = new Database(join(dataDir, 'herald.lock'));
  try {
    lock.pragma('busy_timeout = 0');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (cause) {
    lock.close();
    const holder = readPid(pidPath);
    throw new HeraldError('HERALD_ERR_DATA_DIR_LOCKED', {
      message: `Another Herald process${holder ? ` (pid ${holder})` : ''} is already using ${dataDir}.`,
      cause,
    });
  }
  writeFileSync(pidPath, String(process.pid));
  return () => {
    if (readPid(pidPath) === String(process.pid)) rmSync(pidPath, { force: true });
    lock.close();
  };
}

function readPid(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
