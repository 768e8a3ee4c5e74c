import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import type { SuppressionStore } from '../../src/suppressions/suppression-store.js';
import type { DroppedEvent, HeraldEvent } from '../../src/events/event.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { tempDataDir, eventually } from '../support/test-herald.js';
import { startRelayWorker } from '../support/delivery-worker.js';

// The worker looks up the suppressions of the messages it claims together in one lookup per
// account and group (findMany), not one per message; when that lookup fails, each message looks up
// its own, and nothing suppressed is sent.

const ACCOUNT = 'acct-together';
const RECIPIENTS = ['Bounced@together.example', 'fine1@together.example', 'unsub@together.example', 'fine2@together.example', 'fine3@together.example'];

interface Run {
  sink: SmtpSink;
  backend: Backend;
  calls: { find: number; findMany: number };
}

/** Queues one request to RECIPIENTS and delivers it with a worker whose suppression store counts its calls. */
async function deliverOnce(t: TestContext, failFindMany: boolean): Promise<Run> {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const dataDir = tempDataDir();
  const config = loadConfig({ env: {}, overrides: { dataDir, smtpRelay: sink.url, smtpPoolSize: 1, deliveryPollMs: 50 } });
  const backend = await openBackend(config);
  await backend.suppressions.add(ACCOUNT, 'bounces', [{ email: 'bounced@together.example', reason: '550 5.1.1 unknown', status: '5.1.1' }]);
  await backend.suppressions.add(ACCOUNT, 'unsubscribes', [{ email: 'unsub@together.example' }]);

  // The real store, counted; findMany fails on demand.
  const calls = { find: 0, findMany: 0 };
  const store = Object.create(backend.suppressions) as SuppressionStore;
  store.find = (...args) => {
    calls.find++;
    return backend.suppressions.find(...args);
  };
  store.findMany = async (...args) => {
    calls.findMany++;
    if (failFindMany) throw new Error('suppressions unavailable for a moment');
    return backend.suppressions.findMany(...args);
  };

  const mail = parseMailSend(
    {
      personalizations: RECIPIENTS.map((email) => ({ to: [{ email }] })),
      from: { email: 'sender@herald.example' },
      subject: 'together',
      content: [{ type: 'text/plain', value: 'hello' }],
    },
    Date.now(),
  );
  await backend.queue.enqueue(expandRequest(mail, { accountId: ACCOUNT, apiKeyId: null, nowMs: Date.now(), maxAgeMs: 3_600_000 }));

  startRelayWorker(t, { backend, config, dataDir, suppressions: store });
  await eventually(async () => {
    const depth = await backend.queue.depth();
    return depth.ready + depth.leased + depth.scheduled === 0;
  }, 15_000, 'every message delivered or dropped');
  return { sink, backend, calls };
}

async function outcomes(backend: Backend): Promise<Map<string, HeraldEvent>> {
  const { events } = await backend.events.readFrom(0, 1000);
  return new Map(events.filter((e) => e.type !== 'processed').map((e) => [e.email.toLowerCase(), e]));
}

async function assertDroppedAndDelivered(run: Run): Promise<void> {
  const byEmail = await outcomes(run.backend);
  assert.equal((byEmail.get('bounced@together.example') as DroppedEvent).reason, 'Bounced Address');
  assert.equal((byEmail.get('unsub@together.example') as DroppedEvent).reason, 'Unsubscribed Address');
  for (const fine of ['fine1', 'fine2', 'fine3']) assert.equal(byEmail.get(`${fine}@together.example`)?.type, 'delivered', fine);
  assert.deepEqual(run.sink.messages.flatMap((m) => m.to).sort(), ['fine1@together.example', 'fine2@together.example', 'fine3@together.example']);
}

test('messages claimed together are checked against the suppression lists in one lookup', async (t) => {
  const run = await deliverOnce(t, false);
  await assertDroppedAndDelivered(run);
  assert.equal(run.calls.find, 0, 'no lookup per message');
  assert.ok(run.calls.findMany >= 1 && run.calls.findMany < RECIPIENTS.length, `lookups: ${run.calls.findMany}`);
});

test('when the lookup of claimed messages fails, each message is checked on its own and nothing suppressed is sent', async (t) => {
  const run = await deliverOnce(t, true);
  await assertDroppedAndDelivered(run);
  assert.equal(run.calls.find, RECIPIENTS.length);
});
