import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { GroupCommitter } from '../../src/backends/sqlite/group-commit.js';

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
