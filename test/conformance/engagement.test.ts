import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { newEventId, type EngagementEvent } from '../../src/events/event.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import { mailBody } from '../support/test-herald.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

function accepted(accountId: string, recipients: string[], extra: Record<string, unknown> = {}): AcceptedRequest {
  const now = Date.now();
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }], ...extra });
  return expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
}

type Base = Pick<EngagementEvent, 'id' | 'accountId' | 'messageId' | 'email' | 'timestamp'>;
function base(a: AcceptedRequest, index = 0): Base {
  const m = a.messages[index]!;
  return { id: newEventId(), accountId: m.accountId, messageId: m.id, email: m.recipient, timestamp: Date.now() };
}
const who = { useragent: 'Mozilla/5.0', ip: '203.0.113.9' };

for (const [name, make] of backendsUnderTest()) {
  describe(`engagement log conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId } = fresh));

    test('opens and clicks count on the message once per event id and stay in its timeline', async () => {
      const a = accepted(accountId, ['ann@example.com']);
      await backend.queue.enqueue(a);
      const open = { ...base(a), type: 'open', machineOpen: false, ...who } as const;
      const click = { ...base(a), type: 'click', url: 'https://example.com/x', urlOffset: { index: 0, type: 'html' }, ...who } as const;
      const fresh = await backend.engagement.record([open, click]);
      assert.deepEqual(fresh.map((e) => e.type), ['open', 'click']);
      // The same hit again (a retried request) is skipped with its effect.
      assert.deepEqual(await backend.engagement.record([open]), []);
      const m = await backend.activity.getMessage(accountId, a.messages[0]!.id);
      assert.equal(m!.opensCount, 1);
      assert.equal(m!.clicksCount, 1);
      assert.deepEqual(m!.events.map((e) => e.type), ['processed', 'open', 'click']);
      const stored = m!.events[2]!;
      assert.equal(stored.type === 'click' && stored.url, 'https://example.com/x');
    });

    test('an unsubscribe, a group unsubscribe and a spam report suppress the address; a group resubscribe lifts it', async () => {
      const a = accepted(accountId, ['Ann@Example.com']);
      await backend.queue.enqueue(a);
      await backend.engagement.record([{ ...base(a), type: 'group_unsubscribe', asmGroupId: 7, ...who }]);
      assert.deepEqual(await backend.suppressions.find(accountId, 'ann@example.com', 7), { list: 'group', groupId: 7 });
      await backend.engagement.record([{ ...base(a), type: 'group_resubscribe', asmGroupId: 7, ...who }]);
      assert.equal(await backend.suppressions.find(accountId, 'ann@example.com', 7), null);
      await backend.engagement.record([{ ...base(a), type: 'unsubscribe', ...who }]);
      assert.deepEqual(await backend.suppressions.find(accountId, 'ann@example.com', null), { list: 'unsubscribes', groupId: null });
      await backend.engagement.record([{ ...base(a), type: 'spamreport' }]);
      assert.deepEqual(await backend.suppressions.find(accountId, 'ann@example.com', null), { list: 'spam_reports', groupId: null });
      // Nothing of it reaches another account.
      assert.equal(await backend.suppressions.find(otherAccountId, 'ann@example.com', null), null);
    });

    test('a late hard bounce closes the message as not delivered and suppresses the address', async () => {
      const a = accepted(accountId, ['gone@example.com']);
      await backend.queue.enqueue(a);
      await backend.engagement.record([
        { ...base(a), type: 'bounce', bounceType: 'bounce', status: '5.1.1', reason: '550 5.1.1 no such user', attempt: 1, mxServer: 'mx.example.com' },
      ]);
      const m = await backend.activity.getMessage(accountId, a.messages[0]!.id);
      assert.equal(m!.status, 'not_delivered');
      assert.equal(m!.lastEvent, 'bounce');
      assert.deepEqual(await backend.suppressions.find(accountId, 'gone@example.com', null), { list: 'bounces', groupId: null });
    });

    test('looks up messages of the account only, with their unsubscribe group', async () => {
      const a = accepted(accountId, ['ann@example.com', 'bob@example.com'], { asm: { group_id: 3 } });
      const b = accepted(otherAccountId, ['carl@example.com']);
      await backend.queue.enqueue(a);
      await backend.queue.enqueue(b);
      const ids = [a.messages[0]!.id, a.messages[1]!.id, b.messages[0]!.id, 'nope'];
      const found = await backend.activity.lookupMessages(accountId, ids);
      assert.deepEqual([...found.keys()].sort(), [a.messages[0]!.id, a.messages[1]!.id].sort());
      assert.equal(found.get(a.messages[0]!.id)!.asmGroupId, 3);
      assert.equal((await backend.activity.getMessage(otherAccountId, b.messages[0]!.id))!.asmGroupId, null);
    });
  });
}
