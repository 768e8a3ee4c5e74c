import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { mailBody } from '../support/test-herald.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

function accepted(accountId: string, recipients: string[]) {
  const now = Date.now();
  return expandRequest(parseMailSend(mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }] }), now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
}

for (const [name, make] of backendsUnderTest()) {
  describe(`message lookup by id across accounts (inbound reports): ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId } = fresh));

    test('finds each message with its own account and recipient, and skips unknown or hostile ids', async () => {
      const a = accepted(accountId, ['ann@example.com']);
      const b = accepted(otherAccountId, ['bob@example.com', 'carl@example.com']);
      await backend.queue.enqueue(a);
      await backend.queue.enqueue(b);
      const ids = [a.messages[0]!.id, b.messages[1]!.id, 'nope', "x' OR '1'='1", 'with\0nul'];
      const found = await backend.activity.findMessages(ids);
      assert.deepEqual([...found.keys()].sort(), [a.messages[0]!.id, b.messages[1]!.id].sort());
      assert.equal(found.get(a.messages[0]!.id)!.accountId, accountId);
      assert.equal(found.get(b.messages[1]!.id)!.accountId, otherAccountId);
      assert.equal(found.get(b.messages[1]!.id)!.toEmail, 'carl@example.com');
      assert.equal((await backend.activity.findMessages([])).size, 0);
    });
  });
}
