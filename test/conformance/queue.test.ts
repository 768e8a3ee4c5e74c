import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { newEventId, type DeferredEvent, type DeliveredEvent } from '../../src/events/event.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import { mailBody } from '../support/test-herald.js';
import { backendsUnderTest, type BackendUnderTest } from './backends.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function accepted(accountId: string, recipients: string[], options: { sendAt?: number; now?: number } = {}): AcceptedRequest {
  const now = options.now ?? Date.now();
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }], ...(options.sendAt ? { send_at: options.sendAt } : {}) });
  return expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
}

function delivered(a: AcceptedRequest, index: number, id = newEventId()): DeliveredEvent {
  const m = a.messages[index]!;
  return { type: 'delivered', id, accountId: m.accountId, messageId: m.id, email: m.recipient, timestamp: Date.now(), response: '250 ok', attempt: 1, mxServer: 'mx' };
}

function deferred(a: AcceptedRequest, index: number, nextAttemptAt: number): DeferredEvent {
  const m = a.messages[index]!;
  return { type: 'deferred', id: newEventId(), accountId: m.accountId, messageId: m.id, email: m.recipient, timestamp: Date.now(), response: '451 later', attempt: 1, nextAttemptAt, mxServer: 'mx' };
}

for (const [name, make] of backendsUnderTest()) {
  describe(`queue conformance: ${name}`, () => {
    let subject: BackendUnderTest;
    let backend: Backend;
    let accountId: string;

    beforeEach(async () => {
      subject = make();
      backend = await subject.open();
      accountId = (await backend.accounts.createAccount('acme')).id;
    });
    afterEach(async () => {
      await backend.close();
      await subject.destroy();
    });

    test('claims ready messages oldest first, with their request', async () => {
      const first = accepted(accountId, ['a@x.io', 'b@x.io'], { now: Date.now() - 2000 });
      const second = accepted(accountId, ['c@x.io']);
      await backend.queue.enqueue(second);
      await backend.queue.enqueue(first);
      const claims = await backend.queue.claim('w1', 10, 60_000);
      assert.deepEqual(claims.map((c) => c.message.recipient), ['a@x.io', 'b@x.io', 'c@x.io']);
      assert.equal(claims[0]!.request.subject, 'Hello');
      assert.equal(claims[0]!.attempts, 0);
    });

    test('a claimed message is not claimed again while its lease holds', async () => {
      await backend.queue.enqueue(accepted(accountId, ['a@x.io', 'b@x.io', 'c@x.io']));
      const one = await backend.queue.claim('w1', 2, 60_000);
      const two = await backend.queue.claim('w2', 10, 60_000);
      assert.equal(one.length, 2);
      assert.deepEqual(two.map((c) => c.message.recipient), ['c@x.io']);
      assert.equal((await backend.queue.claim('w3', 10, 60_000)).length, 0);
    });

    test('concurrent claimers never get the same message', async () => {
      for (let i = 0; i < 20; i++) await backend.queue.enqueue(accepted(accountId, [`r${i}@x.io`, `s${i}@x.io`]));
      const results = await Promise.all(Array.from({ length: 8 }, (_, w) => backend.queue.claim(`w${w}`, 7, 60_000)));
      const ids = results.flat().map((c) => c.message.id);
      assert.equal(ids.length, 40);
      assert.equal(new Set(ids).size, 40);
    });

    test('an expired lease lets another worker claim; the old owner can no longer complete it', async () => {
      const a = accepted(accountId, ['a@x.io']);
      await backend.queue.enqueue(a);
      assert.equal((await backend.queue.claim('dead', 1, 1000)).length, 1);
      assert.equal((await backend.queue.claim('w2', 1, 60_000)).length, 0);
      await sleep(1100);
      const again = await backend.queue.claim('w2', 1, 60_000);
      assert.equal(again.length, 1);
      assert.equal(await backend.queue.complete('dead', delivered(a, 0)), false);
      assert.equal(await backend.queue.complete('w2', delivered(a, 0)), true);
    });

    test('extending a lease keeps the message away from other workers', async () => {
      const a = accepted(accountId, ['a@x.io']);
      await backend.queue.enqueue(a);
      await backend.queue.claim('w1', 1, 1000);
      assert.deepEqual(await backend.queue.extendLease('w1', [a.messages[0]!.id], 60_000), [a.messages[0]!.id]);
      assert.deepEqual(await backend.queue.extendLease('w2', [a.messages[0]!.id], 60_000), []);
      await sleep(1100);
      assert.equal((await backend.queue.claim('w2', 1, 60_000)).length, 0);
    });

    test('a deferred message comes back at its next attempt time with one more attempt', async () => {
      const a = accepted(accountId, ['a@x.io']);
      await backend.queue.enqueue(a);
      await backend.queue.claim('w1', 1, 60_000);
      const at = Date.now() + 600;
      assert.equal(await backend.queue.defer('w1', deferred(a, 0, at)), true);
      assert.equal((await backend.queue.claim('w1', 1, 60_000)).length, 0);
      assert.equal(await backend.queue.nextReadyAt(), at);
      await sleep(650);
      const back = await backend.queue.claim('w1', 1, 60_000);
      assert.equal(back.length, 1);
      assert.equal(back[0]!.attempts, 1);
    });

    test('a scheduled message waits for its send_at', async () => {
      const sendAt = Math.ceil(Date.now() / 1000) + 3600;
      await backend.queue.enqueue(accepted(accountId, ['later@x.io'], { sendAt }));
      assert.equal((await backend.queue.claim('w1', 10, 60_000)).length, 0);
      assert.equal(await backend.queue.nextReadyAt(), sendAt * 1000);
      const depth = await backend.queue.depth();
      assert.deepEqual([depth.ready, depth.scheduled, depth.leased], [0, 1, 0]);
    });

    test('completing removes the message, records the event and sets the status', async () => {
      const a = accepted(accountId, ['a@x.io']);
      await backend.queue.enqueue(a);
      await backend.queue.claim('w1', 1, 60_000);
      await backend.queue.complete('w1', delivered(a, 0));
      assert.equal(await backend.queue.nextReadyAt(), null);
      const detail = await backend.activity.getMessage(accountId, a.messages[0]!.id);
      assert.equal(detail?.status, 'delivered');
      assert.deepEqual(detail?.events.map((e) => e.type), ['processed', 'delivered']);
    });

    test('releasing gives an owner\'s leases back at once', async () => {
      await backend.queue.enqueue(accepted(accountId, ['a@x.io', 'b@x.io']));
      await backend.queue.claim('w1', 2, 60_000);
      assert.equal((await backend.queue.depth()).leased, 2);
      assert.equal(await backend.queue.release('w1'), 2);
      assert.equal((await backend.queue.claim('w2', 10, 60_000)).length, 2);
    });

    test('the ready listener hears about new work', async () => {
      let heard = 0;
      const off = backend.queue.onReady(() => heard++);
      await backend.queue.enqueue(accepted(accountId, ['a@x.io']));
      off();
      await backend.queue.enqueue(accepted(accountId, ['b@x.io']));
      assert.equal(heard, 1);
    });

    test('messages are scheduled under their recipient domain, lowercased', async () => {
      await backend.queue.enqueue(accepted(accountId, ['a@Gmail.COM', 'b@gmail.com', 'c@XN--BCHER-KVA.example', 'd@yahoo.com']));
      const waiting = await backend.queue.waitingDestinations();
      assert.deepEqual(waiting.map((w) => w.destination).sort(), ['gmail.com', 'xn--bcher-kva.example', 'yahoo.com']);
      assert.ok(waiting.every((w) => w.readyAt <= Date.now()));
      const depths = await backend.queue.destinationDepths();
      assert.deepEqual(depths[0], { destination: 'gmail.com', ready: 2, scheduled: 0, leased: 0, oldestCreatedAt: depths[0]!.oldestCreatedAt });
    });

    test('claimFrom takes from each named destination no more than its limit', async () => {
      await backend.queue.enqueue(accepted(accountId, ['a1@a.io', 'a2@a.io', 'a3@a.io', 'b1@b.io', 'b2@b.io', 'c1@c.io']));
      const got = await backend.queue.claimFrom('w1', [{ destination: 'a.io', limit: 2 }, { destination: 'b.io', limit: 5 }], 60_000);
      assert.deepEqual(got.map((c) => c.message.recipient).sort(), ['a1@a.io', 'a2@a.io', 'b1@b.io', 'b2@b.io']);
      const rest = await backend.queue.claim('w2', 10, 60_000);
      assert.deepEqual(rest.map((c) => c.message.recipient).sort(), ['a3@a.io', 'c1@c.io']);
    });

    test('a destination whose messages are all leased waits until the first lease runs out', async () => {
      await backend.queue.enqueue(accepted(accountId, ['a@slow.io']));
      const [claim] = await backend.queue.claimFrom('w1', [{ destination: 'slow.io', limit: 1 }], 60_000);
      const [waiting] = await backend.queue.waitingDestinations();
      assert.equal(waiting?.readyAt, claim!.leaseUntil);
      assert.equal((await backend.queue.claimFrom('w2', [{ destination: 'slow.io', limit: 1 }], 60_000)).length, 0);
    });

    test('operators list, retry and purge one destination without touching the others', async () => {
      const a = accepted(accountId, ['a1@down.io', 'a2@down.io', 'a3@down.io', 'b1@up.io']);
      await backend.queue.enqueue(a);
      const claims = await backend.queue.claimFrom('w1', [{ destination: 'down.io', limit: 2 }], 60_000);
      const later = Date.now() + 3_600_000;
      await backend.queue.defer('w1', deferred(a, a.messages.findIndex((m) => m.id === claims[0]!.message.id), later));
      const listed = await backend.queue.list({ destination: 'down.io', limit: 10 });
      assert.deepEqual(listed.map((e) => e.state).sort(), ['leased', 'ready', 'scheduled']);
      const scheduled = listed.find((e) => e.state === 'scheduled')!;
      assert.equal(scheduled.lastResponse, '451 later');
      assert.equal(scheduled.attempts, 1);
      assert.equal((await backend.queue.list({ limit: 10 })).length, 4);

      assert.equal(await backend.queue.retryNow('down.io'), 1);
      assert.ok((await backend.queue.list({ destination: 'down.io', limit: 10 })).every((e) => e.state !== 'scheduled'));

      // The leased one finishes its attempt; the two waiting ones are dropped with the reason.
      assert.equal(await backend.queue.purge('down.io', 'purged by an operator'), 2);
      const left = await backend.queue.list({ limit: 10 });
      assert.deepEqual(left.map((e) => e.recipient).sort(), [claims[1]!.message.recipient, 'b1@up.io'].sort());
      const purged = await backend.activity.getMessage(accountId, scheduled.messageId);
      assert.equal(purged?.status, 'not_delivered');
      const last = purged?.events.at(-1);
      assert.equal(last?.type === 'dropped' ? last.reason : last?.type, 'purged by an operator');
    });

    test('the ready listener is told which destinations got new work', async () => {
      const heard: (readonly string[] | null)[] = [];
      const off = backend.queue.onReady((d) => heard.push(d));
      await backend.queue.enqueue(accepted(accountId, ['a@one.io', 'b@two.io', 'c@one.io']));
      off();
      assert.deepEqual(heard.map((d) => [...(d ?? [])].sort()), [['one.io', 'two.io']]);
    });

    test('appending an event twice stores it once', async () => {
      const a = accepted(accountId, ['a@x.io']);
      await backend.queue.enqueue(a);
      const event = delivered(a, 0);
      await backend.events.append([event]);
      await backend.events.append([event]);
      const { events } = await backend.events.readFrom(0, 100);
      assert.equal(events.filter((e) => e.id === event.id).length, 1);
    });

    test('a cursor read before a restart continues after it', async () => {
      const a = accepted(accountId, ['a@x.io', 'b@x.io', 'c@x.io']);
      await backend.queue.enqueue(a);
      const first = await backend.events.readFrom(0, 2);
      assert.equal(first.events.length, 2);
      await backend.close();
      backend = await subject.open();
      const rest = await backend.events.readFrom(first.cursor, 100);
      assert.deepEqual(rest.events.map((e) => e.email), ['c@x.io']);
      assert.equal((await backend.events.readFrom(rest.cursor, 100)).events.length, 0);
    });

    test('activity queries see only the asking account', async () => {
      const other = (await backend.accounts.createAccount('other')).id;
      await backend.queue.enqueue(accepted(accountId, ['mine@x.io']));
      await backend.queue.enqueue(accepted(other, ['theirs@x.io']));
      const mine = await backend.activity.queryMessages(accountId, null, 100);
      assert.deepEqual(mine.map((m) => m.toEmail), ['mine@x.io']);
      const theirs = (await backend.activity.queryMessages(other, null, 100))[0]!;
      assert.equal(await backend.activity.getMessage(accountId, theirs.msgId), null);
    });
  });
}
