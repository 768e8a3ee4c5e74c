import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

// The clock is passed in: windows and days are checked without waiting.
const T0 = Date.UTC(2026, 10, 23, 12, 0, 10); // 12:00:10 UTC
const NEXT_MINUTE = Date.UTC(2026, 10, 23, 12, 1, 0);
const MIDNIGHT = Date.UTC(2026, 10, 24);

for (const [name, make] of backendsUnderTest()) {
  describe(`account limits conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test("an account's own limits are kept across a restart, per account, and cleared with nulls", async () => {
      assert.deepEqual(await backend.limits.get(accountId), { requestsPerMinute: null, messagesPerDay: null });
      await backend.limits.set(accountId, { requestsPerMinute: 120, messagesPerDay: null });
      await backend.limits.set(accountId, { requestsPerMinute: 60, messagesPerDay: 1000 });
      backend = await reopen();
      assert.deepEqual(await backend.limits.get(accountId), { requestsPerMinute: 60, messagesPerDay: 1000 });
      assert.deepEqual(await backend.limits.get(otherAccountId), { requestsPerMinute: null, messagesPerDay: null });
      await backend.limits.set(accountId, { requestsPerMinute: null, messagesPerDay: null });
      assert.deepEqual(await backend.limits.get(accountId), { requestsPerMinute: null, messagesPerDay: null });
      assert.deepEqual(await backend.limits.get('no\0such'), { requestsPerMinute: null, messagesPerDay: null });
    });

    test('requests: a minute allows its limit, refuses the rest, and the next minute starts again', async () => {
      const uses = [];
      for (let i = 0; i < 4; i++) uses.push(await backend.limits.takeRequest(accountId, 3, T0 + i));
      assert.deepEqual(uses.map((u) => [u.allowed, u.remaining]), [[true, 2], [true, 1], [true, 0], [false, 0]]);
      assert.ok(uses.every((u) => u.limit === 3 && u.resetAt === NEXT_MINUTE));
      const other = await backend.limits.takeRequest(otherAccountId, 3, T0 + 10);
      assert.deepEqual([other.allowed, other.remaining], [true, 2], "another account's requests never count against this one");
      const next = await backend.limits.takeRequest(accountId, 3, NEXT_MINUTE + 5);
      assert.deepEqual([next.allowed, next.remaining, next.resetAt], [true, 2, NEXT_MINUTE + 60_000]);
    });

    test('requests taken at once never pass the limit', async () => {
      const uses = await Promise.all(Array.from({ length: 30 }, () => backend.limits.takeRequest(accountId, 10, T0)));
      assert.equal(uses.filter((u) => u.allowed).length, 10);
    });

    test('messages: the daily quota takes all of a request or none, per account, and resets at midnight UTC', async () => {
      const first = await backend.limits.reserveMessages(accountId, 6, 10, T0);
      assert.deepEqual(first, { allowed: true, limit: 10, remaining: 4, resetAt: MIDNIGHT });
      const tooMany = await backend.limits.reserveMessages(accountId, 5, 10, T0 + 1);
      assert.deepEqual(tooMany, { allowed: false, limit: 10, remaining: 4, resetAt: MIDNIGHT }, 'refused whole, nothing counted');
      assert.equal(await backend.limits.messagesOn(accountId, T0), 6);
      assert.equal((await backend.limits.reserveMessages(accountId, 4, 10, T0 + 2)).remaining, 0);
      assert.equal((await backend.limits.reserveMessages(otherAccountId, 10, 10, T0)).allowed, true, "another account's sends never use this one's quota");
      assert.equal((await backend.limits.reserveMessages(accountId, 1, 10, MIDNIGHT)).remaining, 9, 'a new UTC day');
      assert.equal((await backend.limits.reserveMessages(accountId, 11, 10, MIDNIGHT)).allowed, false, 'a request larger than the quota is refused');
    });

    test('messages counted survive a restart; released ones are given back to their day', async () => {
      await backend.limits.reserveMessages(accountId, 7, 10, T0);
      backend = await reopen();
      assert.equal(await backend.limits.messagesOn(accountId, T0), 7);
      await backend.limits.releaseMessages(accountId, 3, T0);
      assert.equal(await backend.limits.messagesOn(accountId, T0 + 1), 4);
      await backend.limits.releaseMessages(accountId, 100, T0);
      assert.equal(await backend.limits.messagesOn(accountId, T0), 0, 'never below zero');
    });

    test('concurrent reservations never pass the quota', async () => {
      const uses = await Promise.all(Array.from({ length: 25 }, () => backend.limits.reserveMessages(accountId, 3, 50, T0)));
      assert.equal(uses.filter((u) => u.allowed).length, 16);
      assert.equal(await backend.limits.messagesOn(accountId, T0), 48);
    });
  });
}
