import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommitter } from '../../src/backends/sqlite/group-commit.js';
import { WalSync } from '../../src/backends/sqlite/wal-sync.js';

// A batch runs in one transaction without savepoints; when a write in it fails, the batch is run
// again with a savepoint per write, so only the failing write is rejected and rolled back.

test('a failing write in a batch is rejected alone; the others commit once', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (k, n) VALUES (?, ?)');
  const committer = new GroupCommitter(db);
  const results = await Promise.allSettled([
    committer.submit(() => insert.run('a', 1).changes),
    committer.submit(() => {
      insert.run('b', 2);
      insert.run('a', 3); // duplicate key: this write fails, and its first insert is undone
    }),
    committer.submit(() => insert.run('c', 4).changes),
  ]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(db.prepare('SELECT k, n FROM t ORDER BY k').all(), [{ k: 'a', n: 1 }, { k: 'c', n: 4 }]);
  db.close();
});

test('a batch without failures commits every write and returns its value', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
  const committer = new GroupCommitter(db);
  const values = await Promise.all(Array.from({ length: 50 }, (_, i) => committer.submit(() => insert.run(`k${i}`).changes)));
  assert.deepEqual(values, Array(50).fill(1));
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 50);
  db.close();
});

test('with a barrier, callers are answered only after it resolves, and all fail when it fails', async () => {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
  const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
  let release!: () => void;
  let fail = false;
  const committer = new GroupCommitter(db, 0, 2000, () =>
    fail ? Promise.reject(new Error('EIO')) : new Promise<void>((resolve) => (release = resolve)),
  );
  let answered = false;
  const pending = committer.submit(() => insert.run('a')).then(() => (answered = true));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  // Committed, but not answered until the barrier says it is on disk.
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 1);
  assert.equal(answered, false);
  release();
  await pending;
  assert.equal(answered, true);
  fail = true;
  const results = await Promise.allSettled([committer.submit(() => insert.run('b')), committer.submit(() => insert.run('c'))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  db.close();
});

test('WalSync: every caller is answered after an fsync of the WAL, calls in flight share one, and a closed one refuses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-walsync-'));
  try {
    const path = join(dir, 'db.sqlite');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (k INTEGER)');
    const sync = new WalSync(`${path}-wal`);
    const committer = new GroupCommitter(db, 0, 2000, () => sync.sync());
    const insert = db.prepare('INSERT INTO t (k) VALUES (?)');
    // Many turns of the event loop, many commits, overlapping fsyncs: all answered, all stored.
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      writes.push(committer.submit(() => insert.run(i)));
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 200);
    await sync.close();
    await assert.rejects(sync.sync());
    db.close();
    // A WAL file that is not there cannot be synced: the caller hears it, never a false success.
    const missing = new WalSync(join(dir, 'nope-wal'));
    await assert.rejects(missing.sync(), /ENOENT/);
    await missing.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
