import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';
import { eventually } from '../support/test-herald.js';
import { accepted, projectorFor, totals } from '../stats/support.js';

// Two Herald processes on one PostgreSQL schema, as in a cluster: one projector at a time holds
// the lead, both running never counts an event twice, and the lead passes on when its holder goes.

const schema = freshSchema();
const open = () => openBackend(loadConfig({ env: {}, overrides: { backend: 'postgres', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 4 } }));
let first: Backend;
let second: Backend;

before(async () => {
  first = await open();
  second = await open();
});
after(async () => {
  await first.close();
  await second.close();
  await dropSchema(schema);
});

test('one projector of the cluster leads; two running at once count each event once; the lead passes on', async () => {
  const accountId = (await first.accounts.createAccount('acme')).id;
  const lead = await first.stats.lead();
  assert.ok(lead?.held());
  assert.equal(await second.stats.lead(), null, 'the lead is held by the other process');
  await lead!.release();

  const one = projectorFor(first, { batch: 7, idleMs: 20, retryMs: 20 });
  const two = projectorFor(second, { batch: 5, idleMs: 20, retryMs: 20 });
  one.start();
  two.start();
  try {
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const a = accepted(accountId, Array.from({ length: 10 }, (_, j) => `r${i}-${j}@gmail.com`), { categories: ['c'] });
      await (i % 2 === 0 ? first : second).queue.enqueue(a);
      total += a.messages.length;
    }
    // Waits for the projection (not a timing assertion): the counts are what is checked.
    await eventually(async () => (await totals(first, accountId, 'global', '')).requests >= total, 20_000, 'the projectors to catch up');
    await one.catchUp();
    await two.catchUp();
    assert.equal((await totals(second, accountId, 'global', '')).requests, total);
    assert.equal((await totals(second, accountId, 'category', 'c')).processed, total);
    assert.equal(one.projected + two.projected, total);
    assert.ok(one.projected === 0 || two.projected === 0, 'only the leader projected in the background');
  } finally {
    await one.stop();
    await two.stop();
  }
  // Stopping released the lead: anyone may take it now.
  const again = await second.stats.lead();
  assert.ok(again?.held());
  await again!.release();
});
