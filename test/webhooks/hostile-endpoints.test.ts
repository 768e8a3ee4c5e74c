import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.js';
import { postWebhook } from '../../src/webhooks/webhook-sender.js';
import { ManualClock, newDispatcher, startReceiver, testSettings } from './support.js';
import { addEndpoint, openStore, sendMessage } from './dispatch-support.js';

const limits = { connectTimeoutMs: 2000, responseTimeoutMs: 2000, maxResponseBytes: 64 * 1024, allowPrivateTargets: true };
const body = Buffer.from('[{"event":"processed"}]');

test('a slow endpoint times out; the batch is retried with the same sg_event_id (a duplicate the receiver can drop)', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver((_req, res, n) => {
    if (n === 0) setTimeout(() => res.end('late'), 1500);
    else res.end('ok');
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['processed'] });
  await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const { dispatcher } = newDispatcher(backend, clock, testSettings({ webhookResponseTimeoutMs: 300 }));
  await dispatcher.runOnce();
  const [failed] = (await backend.webhooks.deliveries(accountId, id, 10))!;
  assert.equal(failed!.outcome, 'failed');
  assert.match(failed!.error!, /no complete response within 300 ms/);
  clock.advance(60_000);
  await dispatcher.runOnce();
  assert.equal((await backend.webhooks.deliveries(accountId, id, 10))![0]!.outcome, 'delivered');
  const [first, second] = receiver.received;
  assert.equal(first!.events[0]!.sg_event_id, second!.events[0]!.sg_event_id);
});

test('a huge reply is capped: the verdict comes from the status without reading the rest', async (t) => {
  const endless = (status: number) => startReceiver((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) {
        // fill the socket
      }
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  const ok = await endless(200);
  const failing = await endless(500);
  t.after(() => Promise.all([ok.close(), failing.close()]));
  const accepted = await postWebhook(ok.url, body, {}, { ...limits, maxResponseBytes: 1024 });
  assert.deepEqual([accepted.ok, accepted.status, accepted.body.length], [true, 200, 1024]);
  const refused = await postWebhook(failing.url, body, {}, { ...limits, maxResponseBytes: 1024 });
  assert.deepEqual([refused.ok, refused.status, refused.error], [false, 500, 'HTTP 500']);
});

test('a redirect, even to a private address, is never followed', async (t) => {
  const target = await startReceiver();
  const redirecting = await startReceiver((_req, res) => {
    res.writeHead(307, { location: target.url.replace('/hook', '/internal') });
    res.end();
  });
  t.after(() => Promise.all([target.close(), redirecting.close()]));
  const outcome = await postWebhook(redirecting.url, body, {}, limits);
  assert.deepEqual([outcome.ok, outcome.status, outcome.error], [false, 307, 'redirect 307 not followed']);
  assert.equal(target.received.length, 0);
});

test('5xx then 2xx: the batch is retried and delivered once accepted', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const receiver = await startReceiver((_req, res, n) => {
    res.statusCode = n < 2 ? 502 : 200;
    res.end();
  });
  t.after(() => receiver.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: receiver.url, eventTypes: ['processed'] });
  await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const { dispatcher, registry } = newDispatcher(backend, clock, testSettings());
  for (let i = 0; i < 3; i++) {
    await dispatcher.runOnce();
    clock.advance(60_000);
  }
  const log = (await backend.webhooks.deliveries(accountId, id, 10))!;
  assert.deepEqual(log.map((d) => [d.outcome, d.status]), [['delivered', 200], ['failed', 502], ['failed', 502]]);
  assert.deepEqual(receiver.received.map((r) => r.status), [502, 502, 200]);
  const metrics = await registry.metrics();
  assert.match(metrics, /herald_webhook_batches_total\{outcome="failed"\} 2/);
  assert.match(metrics, /herald_webhook_batches_total\{outcome="delivered"\} 1/);
});

test('at send time the address is checked again and the connection goes only to the checked address', async (t) => {
  const receiver = await startReceiver();
  t.after(() => receiver.close());
  const strict = { ...limits, allowPrivateTargets: false };
  // Stored before the operator turned private targets off, or a name that now resolves to loopback.
  const direct = await postWebhook(receiver.url, body, {}, strict);
  assert.equal(direct.ok, false);
  assert.match(direct.error!, /^refused: .*127\.0\.0\.1/);
  const rebinding = async () => [{ address: '127.0.0.1', family: 4 }];
  const renamed = await postWebhook(receiver.url.replace('127.0.0.1', 'hooks.example'), body, {}, strict, rebinding);
  assert.match(renamed.error!, /^refused: the host hooks.example resolves to 127\.0\.0\.1/);
  assert.equal(receiver.received.length, 0);
  // Allowed, the name is never resolved again by the connection: it goes to the address checked.
  const pinned = await postWebhook(receiver.url.replace('127.0.0.1', 'hooks.example'), body, {}, limits, rebinding);
  assert.equal(pinned.ok, true);
  assert.equal(receiver.received[0]!.headers.host, `hooks.example:${new URL(receiver.url).port}`);
});

test('a refused target is a failed attempt recorded in the deliveries log, not a crash', async (t) => {
  const store = await openStore();
  t.after(() => store.close());
  const { backend, accountId } = store;
  const id = await addEndpoint(backend, accountId, { url: 'http://169.254.169.254/latest/meta-data/', eventTypes: ['processed'] });
  await sendMessage(backend, accountId);
  const clock = new ManualClock();
  const dispatcher = new WebhookDispatcher({ events: backend.events, activity: backend.activity, store: backend.webhooks, settings: testSettings({ webhookAllowPrivateTargets: false }), log: pino({ level: 'silent' }), clock });
  await dispatcher.runOnce();
  const [attempt] = (await backend.webhooks.deliveries(accountId, id, 10))!;
  assert.equal(attempt!.outcome, 'failed');
  assert.match(attempt!.error!, /169\.254\.169\.254/);
});

test('a TLS handshake that never completes fails at the connect timeout', async (t) => {
  // A TCP listener that accepts and says nothing: the connection opens, TLS never does.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const port = (silent.address() as AddressInfo).port;
  const outcome = await postWebhook(`https://127.0.0.1:${port}/hook`, body, {}, { ...limits, connectTimeoutMs: 200, responseTimeoutMs: 60_000 });
  assert.deepEqual([outcome.ok, outcome.status, outcome.error], [false, null, 'no connection within 200 ms']);
});
