import type Database from 'better-sqlite3';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: writes submitted during one turn of the event loop share one transaction, so one
 * fsync makes many requests durable. Each write runs in its own savepoint, so one that fails is
 * rolled back and rejected alone. A promise resolves only after COMMIT returned and, with a
 * barrier, after the barrier resolved (synchronous=FULL, or NORMAL with WalSync: the WAL is on disk).
 */
export class GroupCommitter {
  private pending: Pending[] = [];
  private scheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly runBatch: (batch: Pending[]) => unknown[];

  /**
   * @param windowMs how long the first write of a batch waits for others; 0 commits at the end of
   *   the current turn of the event loop. A few milliseconds turn many small commits, each writing
   *   the same index pages to the WAL again, into one.
   */
  /**
   * @param barrier called after each commit; the batch's callers are answered when it resolves
   *   (e.g. WalSync: the fsync that makes a NORMAL commit durable, off the event loop).
   */
  constructor(
    db: Database.Database,
    private readonly windowMs = 0,
    private readonly maxBatch = 2000,
    private readonly barrier: (() => Promise<void>) | null = null,
  ) {
    const savepoint = db.transaction((work: () => unknown) => work());
    const isolated = db.transaction((batch: Pending[]) =>
      batch.map((item) => {
        try {
          return { ok: true, value: savepoint(item.work) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
    // Writes almost never fail, and a SAVEPOINT and RELEASE per write cost about as much as the
    // write. So a batch first runs without them; if any write throws, the whole transaction is
    // rolled back (nothing of it was committed) and the batch runs again with one savepoint per
    // write, where the failing one is rolled back and rejected alone. Writes are SQL only, so
    // running them again after the rollback does them once.
    const together = db.transaction((batch: Pending[]) => batch.map((item) => ({ ok: true, value: item.work() })));
    // IMMEDIATE takes the write lock up front, so a CLI writing at the same time waits, not fails.
    this.runBatch = (batch) => {
      if (batch.length > 1) {
        try {
          return together.immediate(batch);
        } catch {
          // fall through: find the failing write(s) one savepoint at a time
        }
      }
      return isolated.immediate(batch);
    };
  }

  submit<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        if (this.windowMs > 0) this.timer = setTimeout(() => this.flush(), this.windowMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything submitted so far. */
  flush(): void {
    this.scheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    let results: unknown[];
    try {
      results = this.runBatch(batch);
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const item of batch) item.reject(error);
      return;
    }
    const answer = (): void =>
      batch.forEach((item, i) => {
        const r = results[i] as { ok: boolean; value?: unknown; error?: unknown };
        if (r.ok) item.resolve(r.value);
        else item.reject(r.error);
      });
    if (this.barrier === null) answer();
    else {
      // Committed but maybe not yet on disk: a failed sync fails every caller (they may retry;
      // delivery is at least once), none is told its write is durable when it may not be.
      this.barrier().then(answer, (error: unknown) => {
        for (const item of batch) item.reject(error);
      });
    }
  }
}
