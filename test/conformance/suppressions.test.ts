import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { newEventId, type BounceEvent } from '../../src/events/event.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import type { SuppressionGroup, SuppressionMatch } from '../../src/suppressions/suppression-store.js';
import { mailBody } from '../support/test-herald.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const page = { limit: 500, offset: 0 };

function accepted(accountId: string, recipients: string[]): AcceptedRequest {
  const now = Date.now();
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }] });
  return expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
}

function bounce(a: AcceptedRequest, index: number, fields: Pick<BounceEvent, 'bounceType' | 'status' | 'reason' | 'mxServer'>): BounceEvent {
  const m = a.messages[index]!;
  return { type: 'bounce', id: newEventId(), accountId: m.accountId, messageId: m.id, email: m.recipient, timestamp: Date.now(), attempt: 1, ...fields };
}

/** A findMany answer as a plain object, for deepEqual. */
function many(found: Map<string, SuppressionMatch>): Record<string, SuppressionMatch> {
  return Object.fromEntries(found);
}

function group(result: SuppressionGroup | 'limit' | 'duplicate'): SuppressionGroup {
  assert.ok(typeof result === 'object', `expected a group, got ${result}`);
  return result;
}

for (const [name, make] of backendsUnderTest()) {
  describe(`suppression store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('adds, lists newest first, and finds addresses without regard to case', async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'bounces', [{ email: 'Ann@Example.COM', reason: '550 5.1.1 unknown', status: '5.1.1' }]);
      await new Promise((r) => setTimeout(r, 5));
      await s.add(accountId, 'bounces', [{ email: 'bob@example.com' }]);
      const listed = await s.list(accountId, 'bounces', page);
      assert.deepEqual(listed.map((e) => e.email), ['bob@example.com', 'ann@example.com']);
      assert.equal(listed[1]!.reason, '550 5.1.1 unknown');
      assert.equal(listed[1]!.status, '5.1.1');
      assert.deepEqual(await s.find(accountId, 'ANN@example.com', null), { list: 'bounces', groupId: null });
      assert.deepEqual((await s.list(accountId, 'bounces', { ...page, email: 'ANN@EXAMPLE.COM' })).map((e) => e.email), ['ann@example.com']);
      assert.equal(await s.find(accountId, 'carl@example.com', null), null);
    });

    test('adding an address twice keeps one entry with the newer reason', async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'blocks', [{ email: 'a@example.com', reason: 'first', status: '5.7.1' }]);
      await s.add(accountId, 'blocks', [{ email: 'A@example.com', reason: 'second', status: '5.7.1' }]);
      const listed = await s.list(accountId, 'blocks', page);
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.reason, 'second');
    });

    test('limit, offset and the time window narrow a listing', async () => {
      const s = backend.suppressions;
      const before = Date.now();
      await s.add(accountId, 'spam_reports', ['a', 'b', 'c', 'd'].map((l) => ({ email: `${l}@example.com`, ip: '192.0.2.1' })));
      const all = await s.list(accountId, 'spam_reports', page);
      assert.equal(all.length, 4);
      assert.deepEqual(await s.list(accountId, 'spam_reports', { limit: 2, offset: 1 }), all.slice(1, 3));
      assert.equal((await s.list(accountId, 'spam_reports', { ...page, startTime: before })).length, 4);
      assert.equal((await s.list(accountId, 'spam_reports', { ...page, endTime: before - 1 })).length, 0);
      assert.equal(all[0]!.ip, '192.0.2.1');
    });

    test('blocks are listed but never suppress; the other lists do, each with its own name', async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'blocks', [{ email: 'blocked@example.com' }]);
      await s.add(accountId, 'spam_reports', [{ email: 'spam@example.com' }]);
      await s.add(accountId, 'invalid_emails', [{ email: 'invalid@example.com' }]);
      await s.add(accountId, 'unsubscribes', [{ email: 'unsub@example.com' }]);
      assert.equal(await s.find(accountId, 'blocked@example.com', null), null);
      assert.deepEqual(await s.find(accountId, 'spam@example.com', null), { list: 'spam_reports', groupId: null });
      assert.deepEqual(await s.find(accountId, 'invalid@example.com', null), { list: 'invalid_emails', groupId: null });
      assert.deepEqual(await s.find(accountId, 'unsub@example.com', null), { list: 'unsubscribes', groupId: null });
    });

    test('removes chosen addresses or the whole list, and only from that list', async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'bounces', [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'c@example.com' }]);
      await s.add(accountId, 'unsubscribes', [{ email: 'a@example.com' }]);
      assert.equal(await s.remove(accountId, 'bounces', ['A@EXAMPLE.com', 'nobody@example.com']), 1);
      assert.deepEqual((await s.list(accountId, 'bounces', page)).map((e) => e.email).sort(), ['b@example.com', 'c@example.com']);
      assert.equal(await s.remove(accountId, 'bounces', 'all'), 2);
      assert.deepEqual(await s.list(accountId, 'bounces', page), []);
      assert.deepEqual(await s.find(accountId, 'a@example.com', null), { list: 'unsubscribes', groupId: null });
    });

    test('a group unsubscribe suppresses only mail of that group', async () => {
      const s = backend.suppressions;
      const news = group(await s.createGroup(accountId, { name: 'News', description: 'Weekly news', isDefault: false }, 200));
      const alerts = group(await s.createGroup(accountId, { name: 'Alerts', description: 'System alerts', isDefault: false }, 200));
      assert.equal(await s.addToGroup(accountId, news.id, ['Reader@Example.com']), true);
      assert.deepEqual(await s.find(accountId, 'reader@example.com', news.id), { list: 'group', groupId: news.id });
      assert.equal(await s.find(accountId, 'reader@example.com', alerts.id), null);
      assert.equal(await s.find(accountId, 'reader@example.com', null), null);
      assert.deepEqual(await s.groupMembers(accountId, news.id), ['reader@example.com']);
      assert.equal((await s.getGroup(accountId, news.id))!.unsubscribes, 1);
      // A global suppression wins over the group.
      await s.add(accountId, 'bounces', [{ email: 'reader@example.com' }]);
      assert.deepEqual(await s.find(accountId, 'reader@example.com', news.id), { list: 'bounces', groupId: null });
      assert.equal(await s.removeFromGroup(accountId, news.id, 'READER@example.com'), 'removed');
      assert.equal(await s.removeFromGroup(accountId, news.id, 'reader@example.com'), 'not_listed');
    });

    test('findMany answers for many addresses what find answers for each, and only in the account', async () => {
      const s = backend.suppressions;
      const news = group(await s.createGroup(accountId, { name: 'News', description: '', isDefault: false }, 200));
      await s.add(accountId, 'bounces', [{ email: 'Both@example.com' }, { email: 'bounced@example.com' }]);
      await s.add(accountId, 'unsubscribes', [{ email: 'both@example.com' }, { email: 'unsub@example.com' }]);
      await s.add(accountId, 'spam_reports', [{ email: 'spam@example.com' }]);
      await s.add(accountId, 'blocks', [{ email: 'blocked@example.com' }]);
      await s.addToGroup(accountId, news.id, ['reader@example.com', 'unsub@example.com']);
      await s.add(otherAccountId, 'bounces', [{ email: 'clean@example.com' }]);
      const emails = ['BOTH@example.com', 'bounced@example.com', 'unsub@example.com', 'spam@example.com', 'blocked@example.com', 'reader@example.com', 'clean@example.com', 'nobody@example.com'];
      for (const groupId of [null, news.id]) {
        const many = await s.findMany(accountId, emails, groupId);
        for (const email of emails) {
          assert.deepEqual(many.get(email.toLowerCase()) ?? null, await s.find(accountId, email, groupId), `${email}, group ${groupId}`);
        }
        assert.equal(many.size, groupId === null ? 4 : 5);
      }
      assert.deepEqual(many(await s.findMany(accountId, emails, news.id)), {
        'both@example.com': { list: 'bounces', groupId: null },
        'bounced@example.com': { list: 'bounces', groupId: null },
        'unsub@example.com': { list: 'unsubscribes', groupId: null },
        'spam@example.com': { list: 'spam_reports', groupId: null },
        'reader@example.com': { list: 'group', groupId: news.id },
      });
      assert.deepEqual(many(await s.findMany(otherAccountId, emails, news.id)), { 'clean@example.com': { list: 'bounces', groupId: null } });
      assert.equal((await s.findMany(accountId, [], null)).size, 0);
    });

    test('groups: unique names, one default, a limit, and deletion takes their unsubscribes', async () => {
      const s = backend.suppressions;
      const a = group(await s.createGroup(accountId, { name: 'A', description: 'a', isDefault: true }, 2));
      assert.equal(await s.createGroup(accountId, { name: 'A', description: 'again', isDefault: false }, 2), 'duplicate');
      const b = group(await s.createGroup(accountId, { name: 'B', description: 'b', isDefault: true }, 2));
      assert.equal(await s.createGroup(accountId, { name: 'C', description: 'c', isDefault: false }, 2), 'limit');
      assert.deepEqual((await s.listGroups(accountId)).map((g) => [g.name, g.isDefault]), [['A', false], ['B', true]]);
      assert.equal(await s.updateGroup(accountId, b.id, { name: 'A' }), 'duplicate');
      const renamed = await s.updateGroup(accountId, a.id, { name: 'A2', isDefault: true });
      assert.ok(renamed && typeof renamed === 'object');
      assert.equal(renamed.name, 'A2');
      assert.equal((await s.getGroup(accountId, b.id))!.isDefault, false);
      assert.deepEqual((await s.listGroups(accountId, [b.id])).map((g) => g.id), [b.id]);
      await s.addToGroup(accountId, a.id, ['x@example.com']);
      assert.equal(await s.deleteGroup(accountId, a.id), true);
      assert.equal(await s.getGroup(accountId, a.id), null);
      assert.equal(await s.find(accountId, 'x@example.com', a.id), null);
      assert.equal(await s.deleteGroup(accountId, a.id), false);
    });

    test("another account's lists and groups are absent to every verb", async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'bounces', [{ email: 'a@example.com' }]);
      const g = group(await s.createGroup(accountId, { name: 'Mine', description: 'mine', isDefault: false }, 200));
      await s.addToGroup(accountId, g.id, ['m@example.com']);
      assert.deepEqual(await s.list(otherAccountId, 'bounces', page), []);
      assert.equal(await s.find(otherAccountId, 'a@example.com', null), null);
      assert.equal(await s.find(otherAccountId, 'm@example.com', g.id), null);
      assert.equal(await s.remove(otherAccountId, 'bounces', ['a@example.com']), 0);
      assert.equal(await s.remove(otherAccountId, 'bounces', 'all'), 0);
      assert.equal(await s.getGroup(otherAccountId, g.id), null);
      assert.deepEqual(await s.listGroups(otherAccountId), []);
      assert.equal(await s.updateGroup(otherAccountId, g.id, { name: 'x' }), null);
      assert.equal(await s.deleteGroup(otherAccountId, g.id), false);
      assert.equal(await s.addToGroup(otherAccountId, g.id, ['z@example.com']), false);
      assert.equal(await s.removeFromGroup(otherAccountId, g.id, 'm@example.com'), 'no_group');
      assert.equal(await s.groupMembers(otherAccountId, g.id), null);
      // The same name is free in another account.
      group(await s.createGroup(otherAccountId, { name: 'Mine', description: 'theirs', isDefault: false }, 200));
      assert.equal((await s.list(accountId, 'bounces', page)).length, 1);
      assert.deepEqual(await s.groupMembers(accountId, g.id), ['m@example.com']);
    });

    test('completing with a remote 5.1.x bounce lists the address in the same step; local and transient ones do not', async () => {
      const a = accepted(accountId, ['Hard@Example.com', 'local@example.com', 'blocked@example.com', 'expired@example.com']);
      await backend.queue.enqueue(a);
      assert.equal((await backend.queue.claim('w1', 10, 60_000)).length, 4);
      await backend.queue.complete('w1', bounce(a, 0, { bounceType: 'bounce', status: '5.1.1', reason: '550 5.1.1 User unknown', mxServer: 'mx.example.com' }));
      await backend.queue.complete('w1', bounce(a, 1, { bounceType: 'blocked', status: '5.6.0', reason: 'could not compose the message: boom', mxServer: null }));
      await backend.queue.complete('w1', bounce(a, 2, { bounceType: 'blocked', status: '5.7.1', reason: '550 5.7.1 policy', mxServer: 'mx.example.com' }));
      await backend.queue.complete('w1', bounce(a, 3, { bounceType: 'bounce', status: '4.4.7', reason: 'expired', mxServer: 'mx.example.com' }));
      const bounces = await backend.suppressions.list(accountId, 'bounces', page);
      assert.deepEqual(bounces.map((b) => [b.email, b.status, b.reason]), [['hard@example.com', '5.1.1', '550 5.1.1 User unknown']]);
      const blocks = await backend.suppressions.list(accountId, 'blocks', page);
      assert.deepEqual(blocks.map((b) => [b.email, b.status]), [['blocked@example.com', '5.7.1']]);
      assert.deepEqual(await backend.suppressions.find(accountId, 'hard@example.com', null), { list: 'bounces', groupId: null });
      assert.deepEqual(await backend.suppressions.list(otherAccountId, 'bounces', page), []);
    });

    test('suppressions survive a restart', async () => {
      await backend.suppressions.add(accountId, 'unsubscribes', [{ email: 'gone@example.com' }]);
      const g = group(await backend.suppressions.createGroup(accountId, { name: 'G', description: 'g', isDefault: false }, 200));
      await backend.suppressions.addToGroup(accountId, g.id, ['member@example.com']);
      backend = await reopen();
      assert.deepEqual(await backend.suppressions.find(accountId, 'gone@example.com', null), { list: 'unsubscribes', groupId: null });
      assert.deepEqual(await backend.suppressions.groupMembers(accountId, g.id), ['member@example.com']);
    });
    test('an address given twice in one call is listed once, with its last entry', async () => {
      const s = backend.suppressions;
      await s.add(accountId, 'bounces', [
        { email: 'Twice@example.com', reason: 'first', status: '5.1.1' },
        { email: 'other@example.com' },
        { email: 'twice@EXAMPLE.com', reason: 'second', status: '5.1.2' },
      ]);
      const listed = await s.list(accountId, 'bounces', page);
      assert.deepEqual(listed.map((e) => [e.email, e.reason, e.status]), [['other@example.com', null, null], ['twice@example.com', 'second', '5.1.2']]);
      await s.add(accountId, 'bounces', []);
      assert.equal(await s.remove(accountId, 'bounces', []), 0);
      assert.equal(await s.remove(accountId, 'bounces', ['TWICE@example.com', 'twice@example.com']), 1);
      assert.equal(await s.addToGroup(accountId, group(await s.createGroup(accountId, { name: 'G', description: 'g', isDefault: false }, 200)).id, ['A@x.com', 'a@x.com']), true);
    });

    test('addresses of one moment are listed by address, in code point order', async () => {
      const s = backend.suppressions;
      const emails = ['b@example.com', 'B.x@example.com', 'a_b@example.com', 'a-b@example.com', 'a.b@example.com', 'ab@example.com'];
      await s.add(accountId, 'invalid_emails', emails.map((email) => ({ email })));
      const lower = emails.map((e) => e.toLowerCase());
      const byCodePoint = [...lower].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      assert.deepEqual((await s.list(accountId, 'invalid_emails', page)).map((e) => e.email), byCodePoint);
      const g = group(await s.createGroup(accountId, { name: 'G', description: 'g', isDefault: false }, 200));
      await s.addToGroup(accountId, g.id, emails);
      assert.deepEqual(await s.groupMembers(accountId, g.id), byCodePoint);
    });

    test('concurrent group creations respect the limit and unique names', async () => {
      const s = backend.suppressions;
      const made = await Promise.all(Array.from({ length: 8 }, (_, i) => s.createGroup(accountId, { name: `g${i % 6}`, description: 'd', isDefault: i % 2 === 0 }, 5)));
      const groups = made.filter((g): g is SuppressionGroup => typeof g === 'object');
      assert.equal(groups.length, 5);
      assert.equal(new Set(groups.map((g) => g.name)).size, 5);
      assert.equal(made.length - groups.length, 3);
      const listed = await s.listGroups(accountId);
      assert.equal(listed.length, 5);
      assert.ok(listed.filter((g) => g.isDefault).length <= 1);
      assert.deepEqual(listed.map((g) => g.id), [...listed.map((g) => g.id)].sort((a, b) => a - b), 'oldest (lowest id) first');
    });

    test('concurrent additions of the same addresses keep one entry each', async () => {
      const s = backend.suppressions;
      const emails = Array.from({ length: 20 }, (_, i) => `u${i}@example.com`);
      await Promise.all(Array.from({ length: 6 }, (_, i) => s.add(accountId, 'unsubscribes', (i % 2 ? [...emails].reverse() : emails).map((email) => ({ email, reason: `r${i}` })))));
      assert.equal((await s.list(accountId, 'unsubscribes', page)).length, 20);
    });
  });
}
