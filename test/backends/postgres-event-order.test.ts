import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { EVENT_WRITER_LOCK, eventColumns, insertEventsSql } from '../../src/backends/postgres/postgres-event-log.js';
import { newEventId, type HeraldEvent } from '../../src/events/event.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

// With concurrent writers, PostgreSQL hands out `events.seq` numbers in one order and commits them
// in another: a reader that took `seq > cursor` at face value would move its cursor past a lower
// number still uncommitted and never see that event. These tests make exactly that happen (the
// transaction with the lower seq commits last) and show that PostgresEventLog skips nothing.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const schema = freshSchema();
let backend: Backend;
const clients: pg.Client[] = [];

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
  await c.connect();
  clients.push(c);
  return c;
}

function event(messageId: string): HeraldEvent {
  return { type: 'delivered', id: newEventId(), accountId: 'acct', messageId, email: 'a@x.io', timestamp: Date.now(), response: '250 ok', attempt: 1, mxServer: 'mx' };
}

/** A writer as the adapters write: the writer lock first, then the insert; commits when told. */
async function openWriter(c: pg.Client, events: HeraldEvent[]): Promise<{ seqs: number[]; commit: () => Promise<void> }> {
  await c.query(`BEGIN; ${EVENT_WRITER_LOCK}`);
  const inserted = await c.query<{ id: string }>(insertEventsSql(1), eventColumns(events));
  const seqs = (await c.query<{ seq: string }>('SELECT seq FROM events WHERE id = ANY($1::text[]) ORDER BY seq', [inserted.rows.map((r) => r.id)])).rows.map((r) => Number(r.seq));
  return { seqs, commit: async () => void (await c.query('COMMIT')) };
}

before(async () => {
  backend = await openBackend(loadConfig({ env: {}, overrides: { backend: 'postgres', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 8 } }));
});

after(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await backend?.close();
  await dropSchema(schema);
});

test('a reader skips no event when the transaction with the lower seq commits last', async () => {
  const start = (await backend.events.readFrom(0, 1000)).cursor;
  const a = event('first');
  const b = event('second');

  // A takes the lower number and keeps its transaction open.
  const writerA = await openWriter(await client(), [a]);
  // B takes the next number and commits first (writers do not wait for each other).
  await backend.events.append([b]);

  // The hazard is real: a plain `seq > cursor` read now sees B's event and not A's lower one.
  const naive = (await (await client()).query<{ id: string; seq: string }>('SELECT id, seq FROM events WHERE seq > $1 ORDER BY seq', [start])).rows;
  assert.deepEqual(naive.map((r) => r.id), [b.id]);
  assert.ok(Number(naive[0]!.seq) > writerA.seqs[0]!, 'B committed a higher seq than the still-open A');

  // The event log does not answer past A's number while A is open: it waits for A.
  let settled = false;
  const reading = backend.events.readFrom(start, 100).finally(() => (settled = true));
  await sleep(300);
  assert.equal(settled, false, 'the read waits for the open writer instead of returning B alone');

  await writerA.commit();
  const page = await reading;
  assert.deepEqual(page.events.map((e) => e.id), [a.id, b.id]);
  assert.equal((await backend.events.readFrom(page.cursor, 100)).events.length, 0);
});

test('a rolled-back writer leaves a gap the reader passes without waiting forever', async () => {
  const start = (await backend.events.readFrom(0, 1000)).cursor;
  const c = await client();
  const lost = await openWriter(c, [event('lost')]);
  const kept = event('kept');
  await backend.events.append([kept]);
  const reading = backend.events.readFrom(start, 100);
  await sleep(100);
  await c.query('ROLLBACK');
  assert.ok(lost.seqs.length === 1);
  assert.deepEqual((await reading).events.map((e) => e.id), [kept.id]);
});

test('many writers committing out of order: one reader gets every event once, in seq order', async () => {
  let cursor = (await backend.events.readFrom(0, 1000)).cursor;
  const written: string[] = [];
  const WRITERS = 4;
  const TXS = 15;
  const writers = await Promise.all(Array.from({ length: WRITERS }, () => client()));
  let writing = true;

  const raw = writers.map(async (c) => {
    for (let i = 0; i < TXS; i++) {
      const events = [event(`raw${i}`), event(`raw${i}`)];
      const w = await openWriter(c, events);
      written.push(...events.map((e) => e.id));
      // Hold the numbers a while, so later writers commit higher ones first.
      await sleep(Math.random() * 15);
      await w.commit();
    }
  });
  const viaAdapter = (async () => {
    for (let i = 0; i < TXS * 2; i++) {
      const e = event(`adapter${i}`);
      written.push(e.id);
      await backend.events.append([e]);
      await sleep(Math.random() * 5);
    }
  })();
  const done = Promise.all([...raw, viaAdapter]).then(() => (writing = false));

  const read: string[] = [];
  let giveUpAt = Infinity; // a skipped event would never arrive: stop waiting for it 2 s after the writers
  void done.then(() => (giveUpAt = Date.now() + 2000));
  while (writing || (read.length < written.length && Date.now() < giveUpAt)) {
    const page = await backend.events.readFrom(cursor, 7);
    read.push(...page.events.map((e) => e.id));
    cursor = page.cursor;
    if (page.events.length === 0) await sleep(2);
  }
  await done;

  assert.equal(read.length, written.length);
  assert.equal(new Set(read).size, read.length, 'no event twice');
  assert.deepEqual(new Set(read), new Set(written), 'no event skipped');
  const inSeqOrder = (await (await client()).query<{ id: string }>('SELECT id FROM events WHERE id = ANY($1::text[]) ORDER BY seq', [read])).rows.map((r) => r.id);
  assert.deepEqual(read, inSeqOrder, 'read in seq order');
});
