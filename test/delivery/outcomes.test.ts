import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeraldConfig } from '../../src/config/settings.js';
import { startFaultServer, type FaultServer, type FaultServerOptions } from '../support/fault-smtp-server.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { eventually, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { assertHealthyAndAccounted, send, timeline, waitForEvent, type Timeline } from './timeline.js';
import { freePort as closedPort } from '../support/free-port.js';

const FAST_RETRY = { retryBaseMs: 50, retryMaxMs: 200 } satisfies Partial<HeraldConfig>;

async function heraldFor(t: { after(fn: () => Promise<void>): void }, relay: string, overrides: Partial<HeraldConfig> = {}): Promise<TestHerald> {
  const herald = await startTestHerald({ smtpRelay: relay, ...FAST_RETRY, ...overrides });
  t.after(() => herald.close());
  return herald;
}

async function faultServer(t: { after(fn: () => Promise<void>): void }, options: FaultServerOptions): Promise<FaultServer> {
  const server = await startFaultServer(options);
  t.after(() => server.close());
  return server;
}

/** Waits for the first outcome after `processed` and returns the timeline. */
async function firstOutcome(herald: TestHerald, msgId: string): Promise<Timeline> {
  return eventually(
    async () => {
      const tl = await timeline(herald, msgId);
      return tl.events.length > 1 ? tl : undefined;
    },
    20_000,
    `an outcome for ${msgId}`,
  );
}

// ---- transient failures: deferred, retried, then delivered ----

const TRANSIENT: { name: string; fault: FaultServerOptions; code: string }[] = [
  { name: '421 at the greeting', fault: { greeting: '421 4.3.2 Service shutting down, try later' }, code: '421' },
  { name: '450 to RCPT TO (greylisting)', fault: { onRcpt: '450 4.2.0 Greylisted, please retry in 1 minute' }, code: '450' },
  { name: '451 after the final dot', fault: { afterDataReply: '451 4.3.0 Local error in processing' }, code: '451' },
  { name: '452 to RCPT TO', fault: { onRcpt: '452 4.2.2 Mailbox over quota, try later' }, code: '452' },
  { name: '421 to MAIL FROM', fault: { onMail: '421 4.7.0 Too many connections from your IP' }, code: '421' },
];

for (const { name, fault, code } of TRANSIENT) {
  test(`${name} defers with the response recorded, and a later retry delivers`, async (t) => {
    const server = await faultServer(t, fault);
    const herald = await heraldFor(t, server.url);
    const { msgIds } = await send(herald);
    const msgId = msgIds[0]!;

    const first = await firstOutcome(herald, msgId);
    const deferred = first.events[1]!;
    assert.equal(deferred.event_name, 'deferred', `first outcome: ${JSON.stringify(deferred)}`);
    assert.equal(deferred.attempt_num, 1);
    assert.ok(deferred.response?.includes(code), `response ${deferred.response} carries ${code}`);
    assert.equal(deferred.reason, deferred.response);
    assert.equal(first.status, 'processed');
    assert.equal(server.received, 0);

    // The relay recovers: the message must come through on a later attempt.
    for (const key of Object.keys(fault) as (keyof FaultServerOptions)[]) delete server.options[key];
    const { event, timeline: tl } = await waitForEvent(herald, msgId, 'delivered');
    assert.ok(event.attempt_num > 1, `delivered on attempt ${event.attempt_num}`);
    assert.equal(tl.status, 'delivered');
    assert.equal(server.received, 1);
    assert.deepEqual(server.messages[0]!.to, ['rcpt@example.com']);
    await assertHealthyAndAccounted(herald, msgIds);
  });
}

test('451 from an smtp-server relay after DATA defers, then delivers when the relay accepts', async (t) => {
  let refuse = true;
  const sink = await startSmtpSink({ reply: () => (refuse ? { code: 451, message: '4.7.1 Try again later' } : null) });
  t.after(() => sink.close());
  const herald = await heraldFor(t, sink.url);
  const { msgIds } = await send(herald);

  const { event } = await waitForEvent(herald, msgIds[0]!, 'deferred');
  assert.match(event.response ?? '', /^451\b/);
  refuse = false;
  await sink.waitFor(1);
  const delivered = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.ok(delivered.event.attempt_num > 1);
  assert.equal(delivered.timeline.status, 'delivered');
  await assertHealthyAndAccounted(herald, msgIds);
});

// ---- permanent failures: bounced once, never retried ----

const PERMANENT: { name: string; fault: FaultServerOptions; bounceType: 'bounce' | 'blocked'; code: RegExp }[] = [
  { name: '550 5.1.1 unknown user at RCPT TO', fault: { onRcpt: '550 5.1.1 <rcpt@example.com>: Recipient address rejected: User unknown' }, bounceType: 'bounce', code: /^550 5\.1\.1/ },
  { name: '554 5.7.1 policy refusal after the final dot', fault: { afterDataReply: '554 5.7.1 Message rejected as spam' }, bounceType: 'blocked', code: /^554 5\.7\.1/ },
  { name: '552 5.2.2 mailbox full after the final dot', fault: { afterDataReply: '552 5.2.2 Mailbox full' }, bounceType: 'bounce', code: /^552 5\.2\.2/ },
  { name: '554 to the DATA command after RCPT TO was accepted', fault: { onData: '554 5.7.1 Service unavailable; client host blocked' }, bounceType: 'blocked', code: /^554 5\.7\.1/ },
];

for (const { name, fault, bounceType, code } of PERMANENT) {
  test(`${name} bounces with bounce_type ${bounceType}`, async (t) => {
    const server = await faultServer(t, fault);
    const herald = await heraldFor(t, server.url);
    const { msgIds } = await send(herald);
    const msgId = msgIds[0]!;

    const tl = await firstOutcome(herald, msgId);
    const bounce = tl.events[1]!;
    assert.equal(bounce.event_name, 'bounced', `first outcome: ${JSON.stringify(bounce)}`);
    assert.equal(bounce.bounce_type, bounceType);
    assert.match(bounce.reason ?? '', code);
    assert.equal(bounce.attempt_num, 1);
    assert.equal(tl.status, 'not_delivered');
    assert.equal(tl.events.length, 2, 'no further attempt after a bounce');
    assert.equal(server.received, 0);
    const depth = await herald.backend.queue.depth();
    assert.equal(depth.ready + depth.scheduled + depth.leased, 0, 'a bounced message leaves the queue');
    await assertHealthyAndAccounted(herald, msgIds);
  });
}

// ---- no usable reply: connection problems defer ----

test('a refused connection defers, and the message is delivered once a relay listens on the port', async (t) => {
  const port = await closedPort();
  const herald = await heraldFor(t, `smtp://127.0.0.1:${port}`);
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred');
  assert.match(tl.events[1]!.response ?? '', /ECONNREFUSED|ECONNECTION|connect/i);
  await assertHealthyAndAccounted(herald, msgIds);

  const sink = await startSmtpSink({ port });
  t.after(() => sink.close());
  await sink.waitFor(1);
  const delivered = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.ok(delivered.event.attempt_num > 1);
});

test('a connection dropped in the middle of DATA defers, then delivers when the relay behaves', async (t) => {
  const server = await faultServer(t, { onData: 'drop' });
  const herald = await heraldFor(t, server.url);
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  assert.equal(server.received, 0);
  await assertHealthyAndAccounted(herald, msgIds);

  delete server.options.onData;
  const delivered = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.ok(delivered.event.attempt_num > 1);
  assert.equal(server.received, 1);
});

test('a greeting slower than smtpGreetingTimeoutMs defers', async (t) => {
  const server = await faultServer(t, { greetingDelayMs: 5_000 });
  const herald = await heraldFor(t, server.url, { smtpGreetingTimeoutMs: 300 });
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  assert.match(tl.events[1]!.response ?? '', /greeting|timed? ?out/i);
  await assertHealthyAndAccounted(herald, msgIds);

  delete server.options.greetingDelayMs;
  const delivered = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.ok(delivered.event.attempt_num > 1);
});

test('a relay that never answers the final dot defers once smtpSocketTimeoutMs passes', async (t) => {
  const server = await faultServer(t, { onData: 'hang' });
  const herald = await heraldFor(t, server.url, { smtpSocketTimeoutMs: 300 });
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  await assertHealthyAndAccounted(herald, msgIds);

  delete server.options.onData;
  await waitForEvent(herald, msgIds[0]!, 'delivered');
});

test('garbage instead of SMTP replies defers and does not crash Herald', async (t) => {
  const server = await faultServer(t, { garbage: true });
  const herald = await heraldFor(t, server.url);
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  // Keep it failing over several attempts: every one must be recorded, none may take Herald down.
  await eventually(async () => (await timeline(herald, msgIds[0]!)).events.filter((e) => e.event_name === 'deferred').length >= 3, 20_000, 'three deferrals');
  await assertHealthyAndAccounted(herald, msgIds);
  assert.equal(server.received, 0);
});

test('garbage after a valid greeting defers and does not crash Herald', async (t) => {
  const server = await faultServer(t, { greeting: '220 fault.test ESMTP', garbage: true });
  const herald = await heraldFor(t, server.url);
  const { msgIds } = await send(herald);

  const tl = await firstOutcome(herald, msgIds[0]!);
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  await assertHealthyAndAccounted(herald, msgIds);

  delete server.options.garbage;
  await waitForEvent(herald, msgIds[0]!, 'delivered');
});

// ---- expiry ----

test('a message still deferred after messageMaxAgeMs ends with a bounce that says it expired', async (t) => {
  const server = await faultServer(t, { afterDataReply: '451 4.3.0 Try again later' });
  const herald = await heraldFor(t, server.url, { messageMaxAgeMs: 1500 });
  const { msgIds } = await send(herald);

  const { event, timeline: tl } = await waitForEvent(herald, msgIds[0]!, 'bounced');
  assert.match(event.reason ?? '', /expired/i);
  assert.match(event.reason ?? '', /451 4\.3\.0/, 'the last response is kept');
  assert.equal(tl.status, 'not_delivered');
  assert.ok(tl.events.filter((e) => e.event_name === 'deferred').length >= 1, 'deferred before expiring');
  assert.equal(tl.events.at(-1)?.event_name, 'bounced', 'the bounce is the last event');
  await assertHealthyAndAccounted(herald, msgIds);
  const depth = await herald.backend.queue.depth();
  assert.equal(depth.ready + depth.scheduled + depth.leased, 0);
});

test(
  'the expiry reason states the configured maximum age truthfully when it is under an hour',
  {},
  async (t) => {
    const server = await faultServer(t, { afterDataReply: '451 4.3.0 Try again later' });
    const herald = await heraldFor(t, server.url, { messageMaxAgeMs: 1500 });
    const { msgIds } = await send(herald);
    const { event } = await waitForEvent(herald, msgIds[0]!, 'bounced');
    assert.doesNotMatch(event.reason ?? '', /within 0 h/);
  },
);

// ---- isolation between messages ----

test('a bounce for one recipient does not affect another recipient of the same request', async (t) => {
  const sink = await startSmtpSink({
    reply: (msg) => (msg.to[0] === 'gone@example.com' ? { code: 550, message: '5.1.1 No such user' } : null),
  });
  t.after(() => sink.close());
  const herald = await heraldFor(t, sink.url);
  const gone = await send(herald, {
    personalizations: [{ to: [{ email: 'gone@example.com' }] }, { to: [{ email: 'here@example.com' }] }],
    from: { email: 'sender@example.com' },
    subject: 'Two recipients',
    content: [{ type: 'text/plain', value: 'x' }],
  });
  const bounced = await waitForEvent(herald, gone.msgIds[0]!, 'bounced');
  assert.equal(bounced.event.bounce_type, 'bounce');
  await waitForEvent(herald, gone.msgIds[1]!, 'delivered');
  assert.deepEqual(sink.messages.map((m) => m.to[0]), ['here@example.com']);
  await assertHealthyAndAccounted(herald, gone.msgIds);
});
