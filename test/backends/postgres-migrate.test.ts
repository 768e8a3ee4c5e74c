import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { POSTGRES_MIGRATIONS } from '../../src/backends/postgres/migrations.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// PostgreSQL only: `herald migrate` run by several operators (or hosts) at the same moment applies
// each migration exactly once, under its advisory lock, and says so.

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const schema = freshSchema();

after(() => dropSchema(schema));

async function migrate(): Promise<string> {
  const env = { ...process.env, HERALD_BACKEND: 'postgres', HERALD_DATABASE_URL: TEST_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema, HERALD_LOG_LEVEL: 'silent' };
  return (await run(process.execPath, [MAIN, 'migrate'], { env })).stdout;
}

test('three concurrent `herald migrate` runs apply every migration once; a later run finds it up to date', async () => {
  const outputs = await Promise.all([migrate(), migrate(), migrate()]);
  const applied = outputs.flatMap((o) => [...o.matchAll(/^applied (\d+):/gm)].map((m) => Number(m[1])));
  assert.deepEqual(applied.sort((a, b) => a - b), POSTGRES_MIGRATIONS.map((m) => m.id), outputs.join('\n---\n'));
  const last = POSTGRES_MIGRATIONS.at(-1)!.id;
  assert.match(await migrate(), new RegExp(`schema ${schema}: up to date at migration ${last}\\.`));
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const rows = (await client.query(`SELECT id FROM ${schema}.schema_migrations ORDER BY id`)).rows as { id: number }[];
    assert.deepEqual(rows.map((r) => r.id), POSTGRES_MIGRATIONS.map((m) => m.id));
  } finally {
    await client.end();
  }
});

test('herald migrate against an unreachable or unset database fails with a message, not a stack', async () => {
  const base = { ...process.env, HERALD_BACKEND: 'postgres', HERALD_LOG_LEVEL: 'silent' };
  const attempt = (env: NodeJS.ProcessEnv) =>
    run(process.execPath, [MAIN, 'migrate'], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
  const down = await attempt({ ...base, HERALD_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^herald: connect ECONNREFUSED/m);
  const unset = await attempt(base);
  assert.equal(unset.code, 2);
  assert.match(unset.stderr, /databaseUrl is not set/);
  const notPostgres = await attempt({ ...base, HERALD_DATABASE_URL: 'mysql://root@127.0.0.1/x' });
  assert.equal(notPostgres.code, 2);
  assert.match(notPostgres.stderr, /databaseUrl from HERALD_DATABASE_URL must be a postgres:\/\/ URL, got \(hidden\)/);
  assert.doesNotMatch(notPostgres.stderr, /root@/, 'the URL, which may hold a password, is never echoed');
});
