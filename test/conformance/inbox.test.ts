import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { CapturedMessage } from '../../src/delivery/capture-inbox.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

let counter = 0;
function captured(accountId: string, to: string, receivedAt: number, raw: Buffer): CapturedMessage {
  counter++;
  return { id: `cap${counter}`, accountId, messageId: `msg${counter}`, envelopeFrom: 'from@example.com', envelopeTo: to, subject: `s${counter}`, size: raw.length, receivedAt };
}

for (const [name, make] of backendsUnderTest()) {
  describe(`capture inbox conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('stores a message and gives back its raw bytes exactly', async () => {
      const raw = Buffer.from([0x53, 0x75, 0x62, 0x6a, 0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x80]);
      const m = captured(accountId, 'rcpt@example.com', 1_700_000_000_123, raw);
      await backend.inbox.store(m, raw);
      const found = await backend.inbox.get(accountId, m.id);
      assert.ok(found);
      assert.deepEqual(found.message, m);
      assert.ok(Buffer.isBuffer(found.raw));
      assert.ok(found.raw.equals(raw));
      assert.equal(await backend.inbox.get(accountId, 'missing'), null);
      assert.equal(await backend.inbox.get(accountId, '\0'), null);
    });

    test('lists newest first; those of one millisecond newest stored first; limit and to narrow it', async () => {
      const raw = Buffer.from('x');
      const t = 1_700_000_000_000;
      const a = captured(accountId, 'a@example.com', t, raw);
      const b = captured(accountId, 'b@example.com', t + 5, raw);
      const c = captured(accountId, 'a@example.com', t + 5, raw);
      const d = captured(accountId, 'a@example.com', t + 5, raw);
      for (const m of [a, b, c, d]) await backend.inbox.store(m, raw);
      assert.deepEqual((await backend.inbox.list(accountId, { limit: 50 })).map((m) => m.id), [d.id, c.id, b.id, a.id]);
      assert.deepEqual(await backend.inbox.list(accountId, { limit: 2 }), [d, c]);
      assert.deepEqual((await backend.inbox.list(accountId, { limit: 50, to: 'a@example.com' })).map((m) => m.id), [d.id, c.id, a.id]);
      assert.deepEqual(await backend.inbox.list(accountId, { limit: 50, to: 'A@example.com' }), [], 'to matches exactly');
      assert.deepEqual(await backend.inbox.list(accountId, { limit: 50, to: '\0' }), []);
    });

    test("another account's messages are absent to every verb", async () => {
      const raw = Buffer.from('mine');
      const m = captured(accountId, 'a@example.com', Date.now(), raw);
      await backend.inbox.store(m, raw);
      assert.equal(await backend.inbox.get(otherAccountId, m.id), null);
      assert.deepEqual(await backend.inbox.list(otherAccountId, { limit: 50 }), []);
      assert.deepEqual(await backend.inbox.list(otherAccountId, { limit: 50, to: 'a@example.com' }), []);
      assert.equal(await backend.inbox.clear(otherAccountId), 0);
      assert.ok(await backend.inbox.get(accountId, m.id));
    });

    test("clear empties one account's inbox and says how many it removed", async () => {
      const raw = Buffer.from('x');
      for (let i = 0; i < 3; i++) await backend.inbox.store(captured(accountId, 'a@example.com', Date.now(), raw), raw);
      const theirs = captured(otherAccountId, 'a@example.com', Date.now(), raw);
      await backend.inbox.store(theirs, raw);
      assert.equal(await backend.inbox.clear(accountId), 3);
      assert.deepEqual(await backend.inbox.list(accountId, { limit: 50 }), []);
      assert.equal(await backend.inbox.clear(accountId), 0);
      assert.deepEqual(await backend.inbox.list(otherAccountId, { limit: 50 }), [theirs]);
    });

    test('captured messages survive a restart', async () => {
      const raw = Buffer.from('durable');
      const m = captured(accountId, 'a@example.com', Date.now(), raw);
      await backend.inbox.store(m, raw);
      backend = await reopen();
      assert.ok((await backend.inbox.get(accountId, m.id))!.raw.equals(raw));
    });
  });
}
