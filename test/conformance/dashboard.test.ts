import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { DashboardUser } from '../../src/dashboard/dashboard-store.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { mailBody } from '../support/test-herald.js';

function accepted(accountId: string, recipients: string[], now: number, sendAt?: number) {
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }], ...(sendAt ? { send_at: sendAt } : {}) });
  return expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
}

const user = (accountId: string, email: string, id = email.split('@')[0]!): DashboardUser => ({ id, accountId, email, passwordHash: 'scrypt$15$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA', createdAt: 1000 });

for (const [name, make] of backendsUnderTest()) {
  describe(`dashboard store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('a user is found by email after a restart; an address is taken once across accounts', async () => {
      assert.equal(await backend.dashboard.createUser(user(accountId, 'ann@example.com')), true);
      assert.equal(await backend.dashboard.createUser(user(otherAccountId, 'ann@example.com', 'other')), false);
      backend = await reopen();
      const found = await backend.dashboard.findUserByEmail('ann@example.com');
      assert.deepEqual(found, user(accountId, 'ann@example.com'));
      assert.equal(await backend.dashboard.findUserByEmail('nobody@example.com'), null);
    });

    test("an account's users are listed for it alone", async () => {
      await backend.dashboard.createUser(user(accountId, 'ann@example.com'));
      await backend.dashboard.createUser(user(otherAccountId, 'bob@example.com'));
      assert.deepEqual((await backend.dashboard.listUsers(accountId)).map((u) => u.email), ['ann@example.com']);
      assert.deepEqual((await backend.dashboard.listUsers(otherAccountId)).map((u) => u.email), ['bob@example.com']);
    });

    test('a session is found until it expires, survives a restart, and is gone once deleted', async () => {
      await backend.dashboard.createUser(user(accountId, 'ann@example.com'));
      const session = { idHash: 'a'.repeat(64), userId: 'ann', accountId, csrfToken: 'token', createdAt: 1000, expiresAt: 5000 };
      await backend.dashboard.saveSession(session);
      backend = await reopen();
      assert.deepEqual(await backend.dashboard.findSession(session.idHash, 4999), { ...session, email: 'ann@example.com' });
      assert.equal(await backend.dashboard.findSession(session.idHash, 5000), null, 'expired at expiresAt');
      assert.equal(await backend.dashboard.findSession('b'.repeat(64), 2000), null);
      await backend.dashboard.deleteSession(session.idHash);
      assert.equal(await backend.dashboard.findSession(session.idHash, 2000), null);
    });

    test('expired sessions are swept and live ones kept', async () => {
      await backend.dashboard.createUser(user(accountId, 'ann@example.com'));
      for (const [i, expiresAt] of [3000, 6000, 9000].entries()) {
        await backend.dashboard.saveSession({ idHash: String(i).repeat(64), userId: 'ann', accountId, csrfToken: 't', createdAt: 1000, expiresAt });
      }
      assert.equal(await backend.dashboard.deleteExpiredSessions(6000), 2);
      assert.notEqual(await backend.dashboard.findSession('2'.repeat(64), 6000), null);
      assert.equal(await backend.dashboard.deleteExpiredSessions(6000), 0);
    });

    test("the queue depth of an account counts that account's messages only", async () => {
      assert.deepEqual(await backend.queue.depth(accountId), { ready: 0, scheduled: 0, leased: 0, oldestCreatedAt: null });
      const now = Date.now();
      await backend.queue.enqueue(accepted(accountId, ['a@x.io', 'b@y.io'], now - 5000));
      await backend.queue.enqueue(accepted(accountId, ['c@x.io'], now, Math.floor(now / 1000) + 3600));
      await backend.queue.enqueue(accepted(otherAccountId, ['d@x.io', 'e@x.io', 'f@x.io'], now - 9000));
      const mine = await backend.queue.depth(accountId);
      assert.deepEqual({ ...mine, oldestCreatedAt: null }, { ready: 2, scheduled: 1, leased: 0, oldestCreatedAt: null });
      assert.equal(mine.oldestCreatedAt, now - 5000);
      const theirs = await backend.queue.depth(otherAccountId);
      assert.equal(theirs.ready + theirs.scheduled + theirs.leased, 3);
      const all = await backend.queue.depth();
      assert.equal(all.ready + all.scheduled + all.leased, 6);
    });
  });
}
