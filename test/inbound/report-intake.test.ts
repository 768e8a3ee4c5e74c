import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Backend } from '../../src/backends/backend.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { ReturnPaths } from '../../src/inbound/return-path.js';
import { ReportIntake, eventIdOf } from '../../src/inbound/report-intake.js';
import { mailBody } from '../support/test-herald.js';
import { backendsUnderTest, freshBackendEachTest } from '../conformance/backends.js';
import { fixture } from './fixtures.js';

const DOMAIN = 'bounces.herald.test';

// The intake over each backend: the lookup across accounts and the engagement write it relies on.
for (const [name, make] of backendsUnderTest()) {
  describe(`report intake: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId } = fresh));
    const paths = new ReturnPaths(new SigningKeys(randomBytes(32)), DOMAIN);

    async function queued(account: string, recipient: string): Promise<string> {
      const now = Date.now();
      const a = expandRequest(parseMailSend(mailBody({ personalizations: [{ to: [{ email: recipient }] }] }), now), { accountId: account, apiKeyId: null, nowMs: now, maxAgeMs: 3_600_000 });
      await backend.queue.enqueue(a);
      return a.messages[0]!.id;
    }

    test('a DSN and a complaint are recorded for the owning account, each once, at a fixed clock', async () => {
      const intake = new ReportIntake(backend.activity, backend.engagement, paths, pino({ level: 'silent' }), () => 1_700_000_000_000);
      const bounced = await queued(otherAccountId, 'Gone@Example.net');
      const complained = await queued(accountId, 'fbl@example.net');
      const dsn = fixture('gmail-dsn.eml', { RETURN_PATH: paths.addressFor(bounced)!, RECIPIENT: 'gone@example.net', MESSAGE_ID: `${bounced}@h` });
      const first = await intake.take(dsn, { to: [paths.addressFor(bounced)!], peer: 'mx.test' });
      assert.equal(first.kind, 'recorded');
      if (first.kind !== 'recorded') return;
      assert.equal(first.fresh.length, 1);
      const event = first.events[0]!;
      assert.equal(event.id, eventIdOf(bounced, 'bounce', 'Gone@Example.net'));
      assert.equal(event.accountId, otherAccountId);
      assert.equal(event.email, 'Gone@Example.net');
      assert.equal(event.timestamp, 1_700_000_000_000);
      const again = await intake.take(dsn, { to: [paths.addressFor(bounced)!], peer: 'mx.test' });
      assert.equal(again.kind === 'recorded' && again.fresh.length, 0);
      assert.equal((await backend.activity.getMessage(otherAccountId, bounced))!.status, 'not_delivered');
      assert.deepEqual(await backend.suppressions.find(otherAccountId, 'gone@example.net', null), { list: 'bounces', groupId: null });
      assert.equal(await backend.suppressions.find(accountId, 'gone@example.net', null), null);

      const arf = fixture('yahoo-arf-complaint.eml', { RETURN_PATH: paths.addressFor(complained)!, RECIPIENT: 'fbl@example.net', MESSAGE_ID: `${complained}@h` });
      const complaint = await intake.take(arf, { to: [`abuse@${DOMAIN}`], peer: 'mx.test' });
      assert.equal(complaint.kind === 'recorded' && complaint.fresh[0]!.type, 'spamreport');
      assert.deepEqual(await backend.suppressions.find(accountId, 'fbl@example.net', null), { list: 'spam_reports', groupId: null });
    });

    test('a report naming no stored message, or a forged return path, records nothing', async () => {
      const intake = new ReportIntake(backend.activity, backend.engagement, paths, pino({ level: 'silent' }));
      const stranger = new ReturnPaths(new SigningKeys(randomBytes(32)), DOMAIN);
      const id = await queued(accountId, 'ann@example.net');
      const forged = fixture('gmail-dsn.eml', { RETURN_PATH: stranger.addressFor(id)!, RECIPIENT: 'someone@example.net', MESSAGE_ID: 'unrelated@elsewhere' });
      assert.equal((await intake.take(forged, { to: [stranger.addressFor(id)!], peer: 'mx.test' })).kind, 'ignored');
      const gone = fixture('gmail-dsn.eml', { RETURN_PATH: paths.addressFor('AAAAAAAAAAAAAAAAAAAAAA.0')!, RECIPIENT: 'ann@example.net', MESSAGE_ID: 'x@y' });
      assert.equal((await intake.take(gone, { to: [paths.addressFor('AAAAAAAAAAAAAAAAAAAAAA.0')!], peer: 'mx.test' })).kind, 'ignored');
      assert.equal((await backend.activity.getMessage(accountId, id))!.status, 'processed');
    });
  });
}
