import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { ClaimOptions, DeliveryRecord, EndpointSettings } from '../../src/webhooks/webhook-store.js';
import { makeWebhookKeyPair } from '../../src/webhooks/webhook-signature.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const settings = (over: Partial<EndpointSettings> = {}): EndpointSettings => ({ url: 'https://hooks.example/in', enabled: true, eventTypes: ['delivered', 'bounce'], friendlyName: null, ...over });
const T0 = 1_767_225_600_000;
const opts: ClaimOptions = { endpoints: 10, batchMaxEvents: 3, batchWaitMs: 1000, leaseMs: 60_000 };
const record = (outcome: DeliveryRecord['outcome'], at = T0): DeliveryRecord => ({ attemptedAt: at, outcome, events: 1, status: outcome === 'delivered' ? 200 : 503, error: outcome === 'delivered' ? null : 'HTTP 503', durationMs: 5 });
const entry = (endpointId: string, n: number) => ({ endpointId, eventId: `ev-${n}`, payload: JSON.stringify({ sg_event_id: `ev-${n}` }) });

for (const [name, make] of backendsUnderTest()) {
  describe(`webhook store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('endpoints belong to one account: another account neither sees nor changes them', async () => {
      const made = await backend.webhooks.create(accountId, settings({ friendlyName: 'main' }), 5, T0);
      assert.ok(made !== 'limit');
      assert.deepEqual([made.url, made.enabled, made.eventTypes, made.friendlyName, made.publicKey, made.createdAt], ['https://hooks.example/in', true, ['delivered', 'bounce'], 'main', null, T0]);
      assert.deepEqual(await backend.webhooks.list(otherAccountId), []);
      assert.equal(await backend.webhooks.get(otherAccountId, made.id), null);
      assert.equal(await backend.webhooks.update(otherAccountId, made.id, { url: 'https://evil.example/' }, T0), null);
      assert.equal(await backend.webhooks.setSigningKey(otherAccountId, made.id, makeWebhookKeyPair(), T0), null);
      assert.equal(await backend.webhooks.deliveries(otherAccountId, made.id, 10), null);
      assert.equal(await backend.webhooks.remove(otherAccountId, made.id), false);
      assert.equal((await backend.webhooks.get(accountId, made.id))!.url, 'https://hooks.example/in');
    });

    test('create honours the limit; update changes only what it is given; list is oldest first', async () => {
      const first = await backend.webhooks.create(accountId, settings(), 2, T0);
      const second = await backend.webhooks.create(accountId, settings({ url: 'https://two.example/' }), 2, T0 + 1);
      assert.equal(await backend.webhooks.create(accountId, settings(), 2, T0 + 2), 'limit');
      assert.ok(first !== 'limit' && second !== 'limit');
      const updated = await backend.webhooks.update(accountId, first.id, { enabled: false, friendlyName: 'renamed' }, T0 + 5);
      assert.deepEqual([updated!.enabled, updated!.url, updated!.eventTypes, updated!.friendlyName, updated!.updatedAt], [false, 'https://hooks.example/in', ['delivered', 'bounce'], 'renamed', T0 + 5]);
      assert.deepEqual((await backend.webhooks.list(accountId)).map((e) => e.id), [first.id, second.id]);
      assert.equal(await backend.webhooks.remove(accountId, first.id), true);
      assert.deepEqual((await backend.webhooks.list(accountId)).map((e) => e.id), [second.id]);
    });

    test('a signing key survives a restart; its private half is only handed to the dispatcher', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const keys = makeWebhookKeyPair();
      const signed = await backend.webhooks.setSigningKey(accountId, made.id, keys, T0);
      assert.equal(await backend.webhooks.signingKey(accountId, made.id), keys.privateKeyPem);
      assert.equal(await backend.webhooks.signingKey(otherAccountId, made.id), null);
      assert.equal(signed!.publicKey, keys.publicKey);
      assert.ok(!JSON.stringify(signed).includes('PRIVATE KEY'));
      backend = await reopen();
      await backend.webhooks.fanOut(await backend.webhooks.cursor(), (await backend.webhooks.cursor()) + 1, [entry(made.id, 1)], T0);
      const [batch] = await backend.webhooks.claim('p1', T0 + 5000, opts);
      assert.equal(batch!.endpoint.privateKeyPem, keys.privateKeyPem);
      await backend.webhooks.setSigningKey(accountId, made.id, null, T0);
      assert.equal((await backend.webhooks.get(accountId, made.id))!.publicKey, null);
    });

    test('fan-out moves the cursor with its entries, once: a second writer from the same cursor writes nothing', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const start = await backend.webhooks.cursor();
      assert.equal(await backend.webhooks.fanOut(start, start + 2, [entry(made.id, 1), entry(made.id, 2)], T0), true);
      assert.equal(await backend.webhooks.fanOut(start, start + 2, [entry(made.id, 1), entry(made.id, 2)], T0), false);
      assert.equal(await backend.webhooks.cursor(), start + 2);
      backend = await reopen();
      assert.equal(await backend.webhooks.cursor(), start + 2);
      const [batch] = await backend.webhooks.claim('p1', T0 + 1000, opts);
      assert.deepEqual(batch!.entries.map((e) => e.eventId), ['ev-1', 'ev-2']);
    });

    test('a batch is due when full or when its oldest event has waited; it goes to one claimer at a time, in order', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const c = await backend.webhooks.cursor();
      await backend.webhooks.fanOut(c, c + 2, [entry(made.id, 1), entry(made.id, 2)], T0);
      assert.deepEqual(await backend.webhooks.claim('p1', T0 + 999, opts), [], 'neither full nor old enough');
      await backend.webhooks.fanOut(c + 2, c + 4, [entry(made.id, 3), entry(made.id, 4)], T0 + 500);
      const [full] = await backend.webhooks.claim('p1', T0 + 600, opts);
      assert.deepEqual(full!.entries.map((e) => e.eventId), ['ev-1', 'ev-2', 'ev-3'], 'a full batch, oldest first');
      assert.deepEqual(await backend.webhooks.claim('p2', T0 + 600, opts), [], 'leased to p1');
      assert.equal(await backend.webhooks.settle('p2', made.id, { kind: 'delivered', upToSeq: full!.entries[2]!.seq }, record('delivered')), null, 'not p2 lease');
      assert.equal(await backend.webhooks.settle('p1', made.id, { kind: 'delivered', upToSeq: full!.entries[2]!.seq }, record('delivered')), 3);
      assert.deepEqual(await backend.webhooks.claim('p2', T0 + 1200, opts), [], 'ev-4 has waited 700 ms of 1000');
      const [rest] = await backend.webhooks.claim('p2', T0 + 1500, opts);
      assert.deepEqual(rest!.entries.map((e) => e.eventId), ['ev-4']);
    });

    test('a failure keeps the batch and holds the endpoint until its retry time; attempts count; a drop removes it', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const c = await backend.webhooks.cursor();
      await backend.webhooks.fanOut(c, c + 1, [entry(made.id, 1)], T0);
      const [first] = await backend.webhooks.claim('p1', T0 + 2000, opts);
      assert.equal(first!.attempts, 0);
      await backend.webhooks.settle('p1', made.id, { kind: 'failed', retryAt: T0 + 10_000 }, record('failed', T0 + 2000));
      assert.deepEqual(await backend.webhooks.claim('p1', T0 + 9_999, opts), []);
      const [again] = await backend.webhooks.claim('p1', T0 + 10_000, opts);
      assert.deepEqual([again!.attempts, again!.entries[0]!.eventId], [1, 'ev-1']);
      await backend.webhooks.settle('p1', made.id, { kind: 'failed', retryAt: T0 + 1_000_000 }, record('failed', T0 + 10_000));
      // A new URL is a new receiver: it does not inherit the old one's backoff.
      await backend.webhooks.update(accountId, made.id, { url: 'https://fixed.example/' }, T0 + 10_000);
      const [third] = await backend.webhooks.claim('p1', T0 + 10_000, opts);
      assert.deepEqual([third!.attempts, third!.endpoint.url], [0, 'https://fixed.example/']);
      await backend.webhooks.fanOut(c + 1, c + 3, [entry(made.id, 2), entry(made.id, 3)], T0 + 5_000);
      // The batch goes, and so does every event queued before T0 + 5000 (ev-2 not, its time is not before).
      const dropped = await backend.webhooks.settle('p1', made.id, { kind: 'dropped', upToSeq: third!.entries[0]!.seq, enqueuedBefore: T0 + 5_000, retryAt: T0 + 20_000 }, record('dropped', T0 + 10_000));
      assert.equal(dropped, 1);
      const [rest] = await backend.webhooks.claim('p1', T0 + 20_000, opts);
      assert.deepEqual(rest!.entries.map((e) => e.eventId), ['ev-2', 'ev-3']);
      await backend.webhooks.settle('p1', made.id, { kind: 'dropped', upToSeq: 0, enqueuedBefore: T0 + 5_001, retryAt: T0 + 20_000 }, record('dropped', T0 + 20_000));
      assert.deepEqual(await backend.webhooks.claim('p1', T0 + 30_000, opts), []);
      assert.equal(await backend.webhooks.oldestWaiting(), null);
      const log = await backend.webhooks.deliveries(accountId, made.id, 10);
      assert.deepEqual(log!.map((d) => [d.outcome, d.events]), [['dropped', 2], ['dropped', 1], ['failed', 1], ['failed', 1]]);
    });

    test('released leases are claimable at once; disabled endpoints are not claimed nor counted as waiting', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const c = await backend.webhooks.cursor();
      await backend.webhooks.fanOut(c, c + 1, [entry(made.id, 1)], T0);
      assert.equal((await backend.webhooks.claim('p1', T0 + 2000, opts)).length, 1);
      await backend.webhooks.release('p1');
      assert.equal((await backend.webhooks.claim('p2', T0 + 2000, opts)).length, 1);
      await backend.webhooks.release(null);
      assert.equal(await backend.webhooks.oldestWaiting(), T0);
      await backend.webhooks.update(accountId, made.id, { enabled: false }, T0);
      assert.deepEqual(await backend.webhooks.claim('p3', T0 + 2000, opts), []);
      assert.equal(await backend.webhooks.oldestWaiting(), null);
      assert.deepEqual(await backend.webhooks.targets(), []);
    });

    test('concurrent claimers never lease the same endpoint', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const made = await backend.webhooks.create(accountId, settings({ url: `https://h${i}.example/` }), 5, T0);
        assert.ok(made !== 'limit');
        ids.push(made.id);
      }
      const c = await backend.webhooks.cursor();
      await backend.webhooks.fanOut(c, c + 1, ids.map((id, i) => entry(id, i)), T0);
      const claims = await Promise.all(['a', 'b', 'c', 'd'].map((owner) => backend.webhooks.claim(owner, T0 + 2000, { ...opts, endpoints: 2 })));
      const leased = claims.flat().map((b) => b.endpoint.id);
      assert.equal(leased.length, 5);
      assert.equal(new Set(leased).size, 5);
    });

    test('the deliveries log keeps the newest records per endpoint; deleting the endpoint removes its outbox and log', async () => {
      const made = await backend.webhooks.create(accountId, settings(), 5, T0);
      assert.ok(made !== 'limit');
      const c = await backend.webhooks.cursor();
      await backend.webhooks.fanOut(c, c + 1, [entry(made.id, 1)], T0);
      for (let i = 0; i < 105; i++) {
        const [b] = await backend.webhooks.claim('p1', T0 + 2000 + i * 10, opts);
        await backend.webhooks.settle('p1', made.id, { kind: 'failed', retryAt: 0 }, record('failed', T0 + i));
        assert.ok(b);
      }
      const log = await backend.webhooks.deliveries(accountId, made.id, 200);
      assert.equal(log!.length, 100);
      assert.equal(log![0]!.attemptedAt, T0 + 104);
      assert.equal(await backend.webhooks.remove(accountId, made.id), true);
      assert.equal(await backend.webhooks.oldestWaiting(), null);
    });
  });
}
