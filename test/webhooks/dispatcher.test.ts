import { test } from 'node:test';
import assert from 'node:assert/strict';
import sendgrid from '@sendgrid/eventwebhook';
import { makeWebhookKeyPair, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/webhooks/webhook-signature.js';
import { ManualClock, newDispatcher, startReceiver, testSettings } from './support.js';
import { addEndpoint, delivered, openStore, sendMessage } from './dispatch-support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

test('a signed batch in SendGrid shape verifies with @sendgrid/eventwebhook; custom args are flattened and categories kept', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['processed', 'delivered'] });
  const keys = makeWebhookKeyPair();
  await backend.webhooks.setSigningKey(accountId, id, keys, Date.now());
  const a = await sendMessage(backend, accountId, { categories: ['welcome', 'onboarding'], custom_args: { order_id: '42', event: 'spoofed' }, asm: { group_id: 7 } });
  const d = delivered(a, 1_767_225_600_123);
  await backend.events.append([d]);
  const clock = new ManualClock();
  const { dispatcher } = newDispatcher(backend, clock, testSettings());
  await dispatcher.runOnce();

  assert.equal(receiver.received.length, 1);
  const [request] = receiver.received;
  const verifier = new sendgrid.EventWebhook();
  const publicKey = verifier.convertPublicKeyToECDSA(keys.publicKey);
  const signature = request!.headers[SIGNATURE_HEADER.toLowerCase()] as string;
  const timestamp = request!.headers[TIMESTAMP_HEADER.toLowerCase()] as string;
  assert.equal(verifier.verifySignature(publicKey, request!.raw, signature, timestamp), true);
  assert.equal(timestamp, String(Math.floor(clock.now() / 1000)));
  assert.equal(request!.headers['content-type'], 'application/json');

  const [processed, del] = request!.events;
  assert.deepEqual(processed!.event, 'processed');
  assert.deepEqual(del, {
    order_id: '42',
    email: 'ann@example.com',
    timestamp: 1_767_225_600,
    event: 'delivered',
    sg_event_id: d.id,
    sg_message_id: a.messages[0]!.id,
    category: ['welcome', 'onboarding'],
    asm_group_id: 7,
    response: '250 2.0.0 OK',
  });
});

test('only the event types an endpoint chose reach it, and only its own account\'s events', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const { backend, accountId } = store;
  const other = (await backend.accounts.createAccount('globex')).id;
  const processedOnly = await startReceiver();
  const deliveredOnly = await startReceiver();
  const otherAccount = await startReceiver();
  t.after(() => Promise.all([processedOnly.close(), deliveredOnly.close(), otherAccount.close()]));
  await addEndpoint(backend, accountId, { url: processedOnly.url, eventTypes: ['processed'] });
  await addEndpoint(backend, accountId, { url: deliveredOnly.url, eventTypes: ['delivered', 'bounce'] });
  await addEndpoint(backend, other, { url: otherAccount.url, eventTypes: ['processed', 'delivered'] });
  const a = await sendMessage(backend, accountId);
  await backend.events.append([delivered(a)]);
  const { dispatcher } = newDispatcher(backend, new ManualClock(), testSettings());
  await dispatcher.runOnce();
  assert.deepEqual(processedOnly.events().map((e) => e.event), ['processed']);
  assert.deepEqual(deliveredOnly.events().map((e) => e.event), ['delivered']);
  assert.equal(otherAccount.received.length, 0);
});

test('batches are bounded by size: a full batch goes at once, in order, the rest waits', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['delivered'] });
  const a = await sendMessage(backend, accountId);
  const events = Array.from({ length: 7 }, () => delivered(a));
  await backend.events.append(events);
  const clock = new ManualClock();
  const { dispatcher } = newDispatcher(backend, clock, testSettings({ webhookBatchMaxEvents: 3, webhookBatchWaitMs: MINUTE }));
  for (let i = 0; i < 4; i++) await dispatcher.runOnce();
  assert.deepEqual(receiver.received.map((r) => r.events.length), [3, 3]);
  clock.advance(MINUTE);
  await dispatcher.runOnce();
  assert.deepEqual(receiver.received.map((r) => r.events.length), [3, 3, 1]);
  assert.deepEqual(receiver.accepted(), events.map((e) => e.id));
});

test('batches are bounded by time: a partial batch is sent once its oldest event has waited webhookBatchWaitMs', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['delivered'] });
  const a = await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const { dispatcher } = newDispatcher(backend, clock, testSettings({ webhookBatchMaxEvents: 100, webhookBatchWaitMs: 5000 }));
  await backend.events.append([delivered(a)]);
  await dispatcher.runOnce();
  clock.advance(3000);
  await backend.events.append([delivered(a)]);
  await dispatcher.runOnce();
  clock.advance(1999);
  await dispatcher.runOnce();
  assert.equal(receiver.received.length, 0);
  clock.advance(1);
  await dispatcher.runOnce();
  assert.deepEqual(receiver.received.map((r) => r.events.length), [2]);
});

test('an endpoint down for an hour receives every event afterwards, in order', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  let up = false;
  const receiver = await startReceiver((_req, res) => {
    res.statusCode = up ? 200 : 503;
    res.end();
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['delivered'] });
  const a = await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const { dispatcher } = newDispatcher(backend, clock, testSettings({ webhookBatchMaxEvents: 5 }));
  const sent: string[] = [];
  for (let minute = 0; minute < 60; minute++) {
    const e = delivered(a, clock.now());
    sent.push(e.id);
    await backend.events.append([e]);
    await dispatcher.runOnce();
    clock.advance(MINUTE);
  }
  assert.ok(receiver.received.length >= 5, 'it was tried and retried while down');
  assert.deepEqual(receiver.accepted(), []);
  up = true;
  for (let i = 0; i < 30 && receiver.accepted().length < sent.length; i++) {
    clock.advance(10 * MINUTE);
    await dispatcher.runOnce();
  }
  assert.deepEqual(receiver.accepted(), sent);
  const log = await backend.webhooks.deliveries(accountId, id, 100);
  assert.equal(log![0]!.outcome, 'delivered');
  assert.ok(log!.some((d) => d.outcome === 'failed' && d.status === 503));
  assert.equal(await backend.webhooks.oldestWaiting(), null);
});

test('retries back off exponentially up to webhookRetryMaxMs', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver((_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['processed'] });
  await sendMessage(backend, accountId);
  const clock = new ManualClock();
  // random() is 0.5 in tests: no jitter, so the delays are exact.
  const { dispatcher } = newDispatcher(backend, clock, testSettings({ webhookRetryBaseMs: 1000, webhookRetryMaxMs: 8000 }));
  const attemptsAt: number[] = [];
  const start = clock.now();
  for (let ms = 0; ms <= 40_000; ms += 500) {
    const before = receiver.received.length;
    await dispatcher.runOnce();
    if (receiver.received.length > before) attemptsAt.push(clock.now() - start);
    clock.advance(500);
  }
  assert.deepEqual(attemptsAt, [0, 1000, 3000, 7000, 15000, 23000, 31000, 39000]);
});

test('a batch failing for the whole retry window is dropped, logged and counted, with the backlog past the window; later events still go', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  let up = false;
  const receiver = await startReceiver((_req, res) => {
    res.statusCode = up ? 204 : 500;
    res.end();
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['delivered'] });
  const a = await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const { dispatcher, registry } = newDispatcher(backend, clock, testSettings({ webhookBatchMaxEvents: 2 }));
  // One event an hour for 30 hours, to an endpoint that fails every time.
  const sent: { id: string; at: number }[] = [];
  for (let hour = 0; hour < 30; hour++) {
    const e = delivered(a, clock.now());
    sent.push({ id: e.id, at: clock.now() });
    await backend.events.append([e]);
    await dispatcher.runOnce();
    clock.advance(HOUR);
  }
  const log = (await backend.webhooks.deliveries(accountId, id, 100))!;
  assert.ok(log.some((d) => d.outcome === 'dropped'));
  assert.ok(log.filter((d) => d.outcome === 'failed').length >= 20, 'retried all along');
  const metrics = await registry.metrics();
  const dropped = Number(/herald_webhook_events_total\{outcome="dropped"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(dropped >= 5, `dropped ${dropped}`);
  // What is still waiting is within one window: the backlog does not grow past it.
  const oldest = await backend.webhooks.oldestWaiting();
  assert.ok(oldest !== null && clock.now() - oldest <= 24 * HOUR + HOUR, 'nothing older than the window waits');
  up = true;
  clock.advance(2 * HOUR);
  for (let i = 0; i < 20; i++) await dispatcher.runOnce();
  const accepted = receiver.accepted();
  assert.equal(accepted.length + dropped, sent.length, 'every event was either delivered or counted as dropped');
  assert.deepEqual(accepted, sent.slice(dropped).map((e) => e.id), 'the oldest were dropped, the rest delivered in order');
  assert.match(await registry.metrics(), /herald_webhook_oldest_waiting_age_seconds 0/);
});

test('a restart in the middle loses nothing: the outbox and the cursor are in the store', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  let up = false;
  const receiver = await startReceiver((_req, res) => {
    res.statusCode = up ? 200 : 503;
    res.end();
  });
  t.after(() => receiver.close());
  const clock = new ManualClock();
  await addEndpoint(store.backend, store.accountId, { url: receiver.url, eventTypes: ['delivered'] });
  const a = await sendMessage(store.backend, store.accountId);
  const before = [delivered(a), delivered(a), delivered(a)];
  await store.backend.events.append(before);
  const first = newDispatcher(store.backend, clock, testSettings());
  await first.dispatcher.runOnce(); // fanned out, sent, failed: waiting in the outbox
  // Events appended while no dispatcher runs are read from the stored cursor after the restart.
  const during = [delivered(a), delivered(a)];
  await store.backend.events.append(during);
  const backend = await store.reopen();
  up = true;
  clock.advance(HOUR);
  const second = newDispatcher(backend, clock, testSettings());
  await second.dispatcher.runOnce();
  await second.dispatcher.runOnce();
  assert.deepEqual(receiver.accepted(), [...before, ...during].map((e) => e.id));
});

test('a dispatcher stopped mid-send releases its lease; another sends the same events with the same sg_event_id', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  let hang = true;
  const receiver = await startReceiver((_req, res) => {
    if (hang) return; // never answers
    res.end('ok');
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['processed'] });
  await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const first = newDispatcher(backend, clock, testSettings({ webhookResponseTimeoutMs: 60_000 }), 'first');
  const running = first.dispatcher.runOnce();
  for (let i = 0; i < 200 && receiver.received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(receiver.received.length, 1);
  await first.dispatcher.stop(50); // the grace runs out; the lease is released
  hang = false;
  const second = newDispatcher(backend, clock, testSettings(), 'second');
  await second.dispatcher.runOnce();
  const [a, b] = receiver.received;
  assert.equal(b!.status, 200);
  assert.equal(a!.events[0]!.sg_event_id, b!.events[0]!.sg_event_id);
  void running.catch(() => {});
});
