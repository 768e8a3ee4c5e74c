import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PgDatabase } from '../../src/backends/postgres/pg-database.js';
import { migratePostgres } from '../../src/backends/postgres/postgres-backend.js';
import { PostgresRateLimiter } from '../../src/backends/postgres/postgres-rate-limiter.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// PostgreSQL only: the token bucket every delivery process shares. Two pools stand for two
// processes; the clock is passed in, so rates are checked without waiting.

const schema = freshSchema();
const pools: pg.Pool[] = [];
let a: PostgresRateLimiter;
let b: PostgresRateLimiter;

before(async () => {
  for (let i = 0; i < 2; i++) pools.push(new pg.Pool({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}`, max: 10 }));
  await migratePostgres(new PgDatabase(pools[0]!), schema);
  [a, b] = pools.map((p) => new PostgresRateLimiter(new PgDatabase(p))) as [PostgresRateLimiter, PostgresRateLimiter];
});

after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await dropSchema(schema);
});

const T0 = 1_700_000_000_000;

test('two processes share one bucket: a second of burst, then the rate', async () => {
  assert.equal(await a.take('gmail.com', 8, 10, T0), 8);
  assert.equal(await b.take('gmail.com', 8, 10, T0), 2, 'the other process gets what is left of the burst');
  assert.equal(await b.take('gmail.com', 8, 10, T0), 0);
  assert.equal(await a.take('gmail.com', 8, 10, T0 + 500), 5, 'half a second at 10/s');
  assert.equal(await b.take('gmail.com', 50, 10, T0 + 60_000), 10, 'never more than one second of burst');
  assert.equal(await a.take('yahoo.com', 3, 10, T0), 3, 'each destination has its own bucket');
});

test('concurrent takes from both processes never hand out the same token', async () => {
  const at = T0 + 3_600_000; // a full bucket of 20
  const takes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).take('outlook.com', 1, 20, at)));
  assert.equal(takes.reduce((x, y) => x + y, 0), 20);
});

test("a clock behind the bucket's (another host's) refills nothing and takes nothing extra", async () => {
  assert.equal(await a.take('skew.test', 5, 5, T0 + 10_000), 5);
  assert.equal(await b.take('skew.test', 5, 5, T0 + 9_000), 0);
});
