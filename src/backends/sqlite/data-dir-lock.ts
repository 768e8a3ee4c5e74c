import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HeraldError } from '../../errors.js';

/**
 * One server per data directory: a pid file created with O_EXCL. A file left by a process that
 * died (kill -9) is taken over, since its pid no longer runs.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'herald.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new HeraldError('HERALD_ERR_DATA_DIR_LOCKED', { message: `Another Herald process (pid ${pid}) is already using ${dataDir}.` });
      }
      rmSync(path, { force: true });
    }
  }
  throw new HeraldError('HERALD_ERR_DATA_DIR_LOCKED', { message: `Could not lock ${dataDir}.` });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
