import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';
import { ManualClock, newDispatcher, startReceiver, testSettings, type Receiver } from '../webhooks/support.js';
import { addEndpoint, delivered, sendMessage } from '../webhooks/dispatch-support.js';

// Cluster mode: three dispatchers in one process, each with its own pool on one PostgreSQL schema,
// as three Herald processes would be. They fan out from the one cursor and lease endpoints with
// SKIP LOCKED: every endpoint gets every event once, in order, however their rounds interleave.

const schema = freshSchema();
const backends: Backend[] = [];
const receivers: Receiver[] = [];
after(async () => {
  for (const b of backends) await b.close();
  for (const r of receivers) await r.close();
  await dropSchema(schema);
});

const open = async (): Promise<Backend> => {
  const b = await openBackend(loadConfig({ env: {}, overrides: { backend: 'postgres', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 4 } }));
  backends.push(b);
  return b;
};

test('dispatchers of several processes share the work: each event reaches each endpoint once, in order', async () => {
  const first = await open();
  const accountId = (await first.accounts.createAccount('acme')).id;
  for (let i = 0; i < 4; i++) {
    const r = await startReceiver();
    receivers.push(r);
    await addEndpoint(first, accountId, { url: r.url, eventTypes: ['delivered'] });
  }
  const a = await sendMessage(first, accountId);
  const clock = new ManualClock();
  const settings = testSettings({ webhookBatchMaxEvents: 7 });
  const dispatchers = [newDispatcher(first, clock, settings, 'p1'), newDispatcher(await open(), clock, settings, 'p2'), newDispatcher(await open(), clock, settings, 'p3')];
  const sent: string[] = [];
  for (let round = 0; round < 8; round++) {
    const batch = Array.from({ length: 10 }, () => delivered(a));
    sent.push(...batch.map((e) => e.id));
    await first.events.append(batch);
    await Promise.all(dispatchers.map((d) => d.dispatcher.runOnce()));
    clock.advance(1000);
  }
  for (let round = 0; round < 20 && receivers.some((r) => r.accepted().length < sent.length); round++) {
    await Promise.all(dispatchers.map((d) => d.dispatcher.runOnce()));
    clock.advance(1000);
  }
  for (const r of receivers) assert.deepEqual(r.accepted(), sent);
  assert.equal(await first.webhooks.oldestWaiting(), null);
});
