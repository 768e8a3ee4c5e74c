import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { JetStreamEventLog } from '../../src/backends/nats/jetstream-event-log.js';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';

// The relay role copies the event log into a JetStream stream on this machine's NATS: every event,
// in order, once, resuming from its stored cursor after a restart.

const NATS = process.env.HERALD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const tag = randomBytes(4).toString('hex');
const stream = `HERALD_EVENTS_T${tag.toUpperCase()}`;
const bucket = `herald_test_${tag}`;
let nc: NatsConnection;
const heralds: TestHerald[] = [];

after(async () => {
  for (const h of heralds) await h.close();
  nc ??= await connect({ servers: NATS });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => {});
  for (const b of [bucket, `${bucket}_state`]) await new Kvm(nc).open(b).then((kv) => kv.destroy()).catch(() => {});
  await nc.close();
});

async function streamed(log: JetStreamEventLog, count: number): Promise<{ id: string; type: string; messageId: string }[]> {
  const seen: { id: string; type: string; messageId: string }[] = [];
  let cursor = 0;
  await eventually(async () => {
    const page = await log.readFrom(cursor, 500);
    seen.push(...page.events);
    cursor = page.cursor;
    return seen.length >= count;
  }, 20_000, `${count} events in the stream`);
  return seen;
}

test('every event reaches the stream in order, once, and a restarted relay resumes from its cursor', async () => {
  const dataDir = (await import('../support/test-herald.js')).tempDataDir();
  const settings = { roles: 'api,delivery,relay', natsUrl: NATS, natsConfigBucket: bucket, natsEventStream: stream };
  const first = await startTestHerald(settings, { dataDir, keepDataDir: true });
  const res = await first.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: 'a@example.com' }] }, { to: [{ email: 'b@example.com' }] }] }) });
  assert.equal(res.status, 202);
  nc = await connect({ servers: NATS });
  const log = new JetStreamEventLog(nc, { stream, readOnly: true });
  const before = await streamed(log, 4); // processed and delivered, for each of two messages
  await first.close();

  const second = await startTestHerald(settings, { dataDir });
  heralds.push(second);
  await second.api('/v3/mail/send', { method: 'POST', json: mailBody() });
  const all = await streamed(log, 6);
  await eventually(async () => second.relay!.relayed === 2, 10_000, 'the restarted relay to copy the two new events');
  assert.equal(second.relay!.relayed, 2, 'it resumed from its cursor instead of copying the first four again');
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  assert.equal(info.state.messages, 6);
  assert.equal(await log.head(), info.state.last_seq, 'the head of the stream is its last sequence');
  assert.equal((await log.readFrom(await log.head(), 10)).events.length, 0);
  assert.deepEqual(all.slice(0, 4).map((e) => e.id), before.map((e) => e.id));
  assert.equal(new Set(all.map((e) => e.id)).size, 6);
  const { events: logged } = await second.backend.events.readFrom(0, 100);
  assert.deepEqual(all.map((e) => e.id), logged.map((e) => e.id), 'the stream holds the event log, in its order');
  for (const id of ['0', '1']) {
    const types = all.filter((e) => e.messageId === `${res.headers.get('x-message-id')}.${id}`).map((e) => e.type);
    assert.deepEqual(types, ['processed', 'delivered']);
  }
});
