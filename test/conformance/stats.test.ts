import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { DROP_REASONS } from '../../src/suppressions/auto-suppress.js';
import { dayOf, type StatsTally } from '../../src/stats/stats-store.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';
import { DAY_MS, accepted, eventOf, nonZero, projectorFor, totals, who } from '../stats/support.js';

for (const [name, make] of backendsUnderTest()) {
  describe(`stats store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('each event counts once per metric, in the account, its categories and its mailbox provider, on its UTC day', async () => {
      const day = dayOf(Date.now()) - 3;
      const at = day * DAY_MS + 23 * 3_600_000; // 23:00 UTC
      const a = accepted(accountId, ['ann@gmail.com', 'bob@Hotmail.co.uk', 'cy@corp.example'], { categories: ['welcome', 'promo'] }, at);
      const b = accepted(otherAccountId, ['dee@gmail.com'], {}, at);
      await backend.queue.enqueue(a);
      await backend.queue.enqueue(b);
      const later = at + 2 * 3_600_000; // 01:00 UTC the next day
      await backend.events.append([
        eventOf(a, 0, { type: 'delivered', timestamp: at + 1000, response: '250 ok', attempt: 1, mxServer: 'mx.gmail.com' }),
        eventOf(a, 1, { type: 'bounce', timestamp: at + 1000, bounceType: 'blocked', reason: '554 blocked', status: '5.7.1', attempt: 1, mxServer: 'mx.hotmail.com' }),
        eventOf(a, 2, { type: 'deferred', timestamp: at + 1000, response: '451 later', attempt: 1, nextAttemptAt: at + 60_000, mxServer: 'mx.corp.example' }),
        eventOf(a, 2, { type: 'dropped', timestamp: later, reason: DROP_REASONS.unsubscribes }),
        eventOf(a, 0, { type: 'open', timestamp: later, machineOpen: false, ...who }),
        eventOf(a, 0, { type: 'open', timestamp: later + 1, machineOpen: true, ...who }),
        eventOf(a, 0, { type: 'click', timestamp: later + 2, url: 'https://example.com/', urlOffset: { index: 0, type: 'html' }, ...who }),
        eventOf(a, 0, { type: 'spamreport', timestamp: later + 3 }),
        eventOf(a, 0, { type: 'group_unsubscribe', timestamp: later + 4, asmGroupId: 4, ...who }),
        eventOf(a, 1, { type: 'bounce', timestamp: later + 5, bounceType: 'bounce', reason: '550 no such user', status: '5.1.1', attempt: 1, mxServer: 'mx.hotmail.com' }),
      ]);
      // A small batch, so unique opens and clicks are decided across several transactions.
      await projectorFor(backend, { batch: 3 }).catchUp();
      assert.deepEqual(nonZero(await totals(backend, accountId, 'global', '', day, day)), { requests: 3, processed: 3, delivered: 1, blocks: 1, deferred: 1 });
      assert.deepEqual(nonZero(await totals(backend, accountId, 'global', '', day + 1, day + 1)), {
        opens: 2, unique_opens: 1, clicks: 1, unique_clicks: 1, spam_reports: 1, unsubscribes: 1, unsubscribe_drops: 1, drops: 1, bounces: 1,
      });
      for (const category of ['welcome', 'promo']) {
        assert.equal((await totals(backend, accountId, 'category', category)).requests, 3);
        assert.equal((await totals(backend, accountId, 'category', category)).unique_opens, 1);
      }
      assert.deepEqual(nonZero(await totals(backend, accountId, 'mailbox_provider', 'Gmail')), {
        requests: 1, processed: 1, delivered: 1, opens: 2, unique_opens: 1, clicks: 1, unique_clicks: 1, spam_reports: 1, unsubscribes: 1,
      });
      assert.deepEqual(nonZero(await totals(backend, accountId, 'mailbox_provider', 'Microsoft Outlook Live')), { requests: 1, processed: 1, blocks: 1, bounces: 1 });
      assert.deepEqual(nonZero(await totals(backend, accountId, 'mailbox_provider', 'Other')), { requests: 1, processed: 1, deferred: 1, drops: 1, unsubscribe_drops: 1 });
      // The other account's mail counts for it alone.
      assert.deepEqual(nonZero(await totals(backend, otherAccountId, 'global', '')), { requests: 1, processed: 1 });
      assert.equal((await totals(backend, otherAccountId, 'category', 'welcome')).requests, 0);
      // Reading every name of a dimension lists only the account's own.
      const names = new Set((await backend.stats.read({ accountId: otherAccountId, dimension: 'mailbox_provider', names: null, fromDay: 0, toDay: day + 10 })).map((c) => c.name));
      assert.deepEqual([...names], ['Gmail']);
    });

    test('categories come from each message\'s own request, whichever batch or account its events fall in', async () => {
      const at = Date.now();
      const news = accepted(accountId, ['a@gmail.com', 'b@gmail.com', 'c@gmail.com'], { categories: ['news'] }, at);
      const promo = accepted(accountId, ['d@gmail.com', 'e@gmail.com'], { categories: ['promo'] }, at);
      const plain = accepted(accountId, ['f@gmail.com'], {}, at);
      const theirs = accepted(otherAccountId, ['g@gmail.com', 'h@gmail.com'], { categories: ['theirs'] }, at);
      for (const a of [news, promo, plain, theirs]) await backend.queue.enqueue(a);
      const delivered = { type: 'delivered', timestamp: at + 1, response: '250 ok', attempt: 1, mxServer: 'mx.gmail.com' } as const;
      // Interleaved, and read two at a time: a request's later events find what its first one looked up.
      await backend.events.append([
        eventOf(news, 0, delivered), eventOf(promo, 0, delivered), eventOf(theirs, 0, delivered), eventOf(news, 1, delivered),
        eventOf(plain, 0, delivered), eventOf(promo, 1, delivered), eventOf(news, 2, delivered), eventOf(theirs, 1, delivered),
      ]);
      await projectorFor(backend, { batch: 2 }).catchUp();
      assert.equal((await totals(backend, accountId, 'category', 'news')).delivered, 3);
      assert.equal((await totals(backend, accountId, 'category', 'promo')).delivered, 2);
      assert.equal((await totals(backend, otherAccountId, 'category', 'theirs')).delivered, 2);
      assert.equal((await totals(backend, accountId, 'category', 'theirs')).delivered, 0);
      assert.equal((await totals(backend, accountId, 'global', '')).delivered, 6);
    });

    test('counters and position move together: a restart carries on where the last batch ended', async () => {
      const a = accepted(accountId, ['a@x.example', 'b@x.example', 'c@x.example', 'd@x.example', 'e@x.example']);
      await backend.queue.enqueue(a);
      assert.deepEqual(await projectorFor(backend, { batch: 2 }).step(), { read: 2, counted: true });
      const position = await backend.stats.position();
      assert.ok(position > 0);
      backend = await reopen();
      assert.equal(await backend.stats.position(), position);
      assert.equal((await totals(backend, accountId, 'global', '')).requests, 2);
      await projectorFor(backend, { batch: 2 }).catchUp();
      assert.equal((await totals(backend, accountId, 'global', '')).requests, 5);
    });

    test('advance counts nothing and says so when the position has moved on', async () => {
      const tally: StatsTally = { accountId, day: 100, metric: 'delivered', categories: ['c'], provider: 'Gmail', uniqueFor: null };
      const open: StatsTally = { ...tally, metric: 'unique_opens', uniqueFor: 'm1' };
      assert.equal(await backend.stats.advance(0, 5, [tally, open, open]), true);
      assert.equal(await backend.stats.advance(0, 7, [tally, open]), false);
      assert.equal(await backend.stats.position(), 5);
      // The same message's first open was counted already: a later batch does not count it again.
      assert.equal(await backend.stats.advance(5, 9, [tally, open]), true);
      assert.deepEqual(nonZero(await totals(backend, accountId, 'global', '')), { delivered: 2, unique_opens: 1 });
      assert.deepEqual(nonZero(await totals(backend, accountId, 'category', 'c')), { delivered: 2, unique_opens: 1 });
    });

    test('two projectors counting at once count each event once', async () => {
      for (let i = 0; i < 6; i++) await backend.queue.enqueue(accepted(accountId, [`r${i}a@gmail.com`, `r${i}b@yahoo.com`], { categories: ['bulk'] }));
      const one = projectorFor(backend, { batch: 2 });
      const two = projectorFor(backend, { batch: 3 });
      await Promise.all([one.catchUp(), two.catchUp(), one.catchUp()]);
      assert.equal(one.projected + two.projected, 12);
      assert.equal((await totals(backend, accountId, 'global', '')).requests, 12);
      assert.equal((await totals(backend, accountId, 'category', 'bulk')).processed, 12);
      assert.equal((await totals(backend, accountId, 'mailbox_provider', 'Yahoo')).requests, 6);
    });

    test('lead is granted to a projector of this process', async () => {
      const lease = await backend.stats.lead();
      assert.ok(lease);
      assert.equal(lease.held(), true);
      await lease.release();
    });
  });
}
