import { closeSync, fdatasync, openSync } from 'node:fs';

/**
 * Makes commits on a synchronous=NORMAL connection durable without blocking the event loop.
 *
 * In WAL mode synchronous=FULL is NORMAL plus an fsync of the WAL file after every commit
 * (sqlite.org/pragma.html#pragma_synchronous). That fsync takes milliseconds, and on the event
 * loop's thread nothing else runs meanwhile. So the accepting connection commits with NORMAL and
 * then calls `sync()`, which fsyncs the WAL file from libuv's thread pool; a caller is answered
 * only after it resolves, so what it was promised is on disk exactly as with FULL.
 *
 * fsync acts on the file, whichever descriptor names it, and covers every write that returned
 * before it began. A commit that completes while one fsync runs may not be covered by it, so its
 * caller waits for the next one; all callers that arrive meanwhile share that next one.
 */
export class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly walPath: string) {}

  /** Resolves once every commit made before this call is on disk. */
  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    if (this.running === null) return (this.running = this.run());
    // Chained once: every caller until the running fsync ends shares the next one.
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  /** Waits for fsyncs under way, then closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.running, this.queued]);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private startQueued(): Promise<void> {
    this.queued = null;
    return (this.running = this.run());
  }

  private run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let fd: number;
      try {
        // Opened on first use: the connection has made the WAL file by its first commit.
        fd = this.fd ??= openSync(this.walPath, 'r');
      } catch (error) {
        this.running = null;
        reject(error);
        return;
      }
      // fdatasync, as SQLite syncs its WAL: the data, and the size only when it changed.
      fdatasync(fd, (error) => {
        this.running = null;
        if (error) reject(error);
        else resolve();
      });
    });
  }
}
