import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { parseActivityQuery } from '../../src/events/activity-query.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';
import { accepted } from '../stats/support.js';

// SendGrid's Email Activity query language over the stored messages: the forms its docs show,
// combined, and addresses matched without regard to case.

for (const [name, make] of backendsUnderTest()) {
  describe(`activity search conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId } = fresh));

    const find = async (query: string, account = accountId) =>
      (await backend.activity.queryMessages(account, parseActivityQuery(query), 100)).map((m) => m.toEmail).sort();

    test('to_email and from_email match whatever the case of either side', async () => {
      const at = Date.parse('2026-03-01T10:00:00Z');
      await backend.queue.enqueue(accepted(accountId, ['Ann@Example.com', 'bob@example.com'], { from: { email: 'News@Shop.example' }, subject: 'Spring sale', categories: ['promo'] }, at));
      await backend.queue.enqueue(accepted(accountId, ['carl@example.com'], { subject: 'Your invoice' }, at + 3_600_000));
      await backend.queue.enqueue(accepted(otherAccountId, ['ann@example.com'], {}, at));
      assert.deepEqual(await find('to_email="ann@example.com"'), ['Ann@Example.com']);
      assert.deepEqual(await find("to_email='ANN@EXAMPLE.COM'"), ['Ann@Example.com']);
      assert.deepEqual(await find('to_email IN ("ANN@example.com", "Bob@Example.com")'), ['Ann@Example.com', 'bob@example.com']);
      assert.deepEqual(await find('to_email != "ann@EXAMPLE.com"'), ['bob@example.com', 'carl@example.com']);
      assert.deepEqual(await find('from_email="news@shop.example"'), ['Ann@Example.com', 'bob@example.com']);
      // The other account's Ann stays its own.
      assert.deepEqual(await find('to_email="ANN@example.com"', otherAccountId), ['ann@example.com']);
      // Combined with AND, OR and parentheses, with msg_id, subject, status, categories and times.
      assert.deepEqual(await find('(to_email="ann@example.com" OR to_email="CARL@example.com") AND status="processed"'), ['Ann@Example.com', 'carl@example.com']);
      assert.deepEqual(await find('subject LIKE "%invoice%" OR Contains(categories,"promo")'), ['Ann@Example.com', 'bob@example.com', 'carl@example.com']);
      assert.deepEqual(
        await find('last_event_time BETWEEN TIMESTAMP "2026-03-01T10:30:00Z" AND TIMESTAMP "2026-03-01T11:30:00Z" AND NOT to_email="nobody@example.com"'),
        ['carl@example.com'],
      );
      const [carl] = await backend.activity.queryMessages(accountId, parseActivityQuery('to_email="carl@example.com"'), 1);
      assert.deepEqual(await find(`msg_id="${carl!.msgId}" AND status IN ("processed", "delivered")`), ['carl@example.com']);
    });
  });
}
