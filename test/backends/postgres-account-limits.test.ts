import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgDatabase } from '../../src/backends/postgres/pg-database.js';
import { migratePostgres } from '../../src/backends/postgres/postgres-backend.js';
import { PostgresAccountLimits } from '../../src/backends/postgres/postgres-account-limits.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// PostgreSQL only: the request windows and the daily quota every API process shares. Two pools
// stand for two processes; the clock is passed in.

const schema = freshSchema();
const pools: pg.Pool[] = [];
let a: PostgresAccountLimits;
let b: PostgresAccountLimits;

before(async () => {
  for (let i = 0; i < 2; i++) pools.push(new pg.Pool({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 10 }));
  await migratePostgres(new PgDatabase(pools[0]!), schema);
  [a, b] = pools.map((p) => new PostgresAccountLimits(new PgDatabase(p))) as [PostgresAccountLimits, PostgresAccountLimits];
});

after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await dropSchema(schema);
});

const T0 = Date.UTC(2026, 10, 23, 9, 30, 5);

test('two processes share one request window per account', async () => {
  const takes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).takeRequest('acct-1', 15, T0)));
  assert.equal(takes.filter((t) => t.allowed).length, 15);
  assert.equal((await b.takeRequest('acct-2', 15, T0)).remaining, 14, 'another account has its own window');
  // A process whose clock is a minute behind counts into the newest window, not an old one.
  const behind = await a.takeRequest('acct-1', 15, T0 - 60_000);
  assert.equal(behind.allowed, false);
  assert.equal(behind.resetAt, Date.UTC(2026, 10, 23, 9, 31));
});

test('two processes share one daily quota per account, never passing it', async () => {
  const uses = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).reserveMessages('acct-1', 2, 41, T0)));
  assert.equal(uses.filter((u) => u.allowed).length, 20);
  assert.equal(await b.messagesOn('acct-1', T0), 40);
  assert.equal((await a.reserveMessages('acct-1', 1, 41, T0)).remaining, 0);
});
