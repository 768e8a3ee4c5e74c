import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { NewSendingDomain, SendingDomain } from '../../src/domains/domain-store.js';
import { generateDkimKeys } from '../../src/domains/dkim-keys.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const KEYS = generateDkimKeys('conf');
const input = (domain: string): NewSendingDomain => ({ domain, selector: 'conf', keys: KEYS });

function created(result: SendingDomain | 'duplicate' | 'limit'): SendingDomain {
  assert.ok(typeof result === 'object', `expected a domain, got ${result}`);
  return result;
}

for (const [name, make] of backendsUnderTest()) {
  describe(`domain store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('creates a domain with its public keys and reads it back by id and by name', async () => {
      const d = created(await backend.domains.create(accountId, input('example.test'), 10));
      assert.ok(Number.isInteger(d.id) && d.id > 0);
      assert.equal(d.valid, false);
      assert.equal(d.validatedAt, null);
      assert.deepEqual(d.lastCheck, {});
      assert.deepEqual(d.keys, KEYS.map(({ algorithm, selector, publicKey }) => ({ algorithm, selector, publicKey })));
      assert.equal('privateKeyPem' in d.keys[0]!, false, 'no private half on the domain');
      assert.deepEqual(await backend.domains.get(accountId, d.id), d);
      assert.deepEqual(await backend.domains.findByName(accountId, 'example.test'), d);
      assert.deepEqual(await backend.domains.list(accountId), [d]);
    });

    test('a duplicate name and the per-account limit are refused', async () => {
      created(await backend.domains.create(accountId, input('a.test'), 2));
      assert.equal(await backend.domains.create(accountId, input('a.test'), 2), 'duplicate');
      created(await backend.domains.create(accountId, input('b.test'), 2));
      assert.equal(await backend.domains.create(accountId, input('c.test'), 2), 'limit');
      // Another account has its own count and names.
      created(await backend.domains.create(otherAccountId, input('a.test'), 2));
    });

    test('signing keys come only from a valid domain, with the private halves', async () => {
      const d = created(await backend.domains.create(accountId, input('sign.test'), 10));
      assert.deepEqual(await backend.domains.signingKeys(accountId, 'sign.test'), []);
      const checked = await backend.domains.markChecked(accountId, d.id, { valid: true, records: { dkim1: { valid: true, reason: null }, spf: { valid: false, reason: 'none' } }, at: 1234 });
      assert.equal(checked!.valid, true);
      assert.equal(checked!.validatedAt, 1234);
      assert.deepEqual(checked!.lastCheck, { dkim1: { valid: true, reason: null }, spf: { valid: false, reason: 'none' } });
      const keys = await backend.domains.signingKeys(accountId, 'sign.test');
      assert.deepEqual(keys, KEYS.map((k) => ({ domain: 'sign.test', selector: k.selector, algorithm: k.algorithm, privateKeyPem: k.privateKeyPem })));
      await backend.domains.markChecked(accountId, d.id, { valid: false, records: {}, at: 2000 });
      assert.deepEqual(await backend.domains.signingKeys(accountId, 'sign.test'), []);
    });

    test("another account's domain is absent to every verb", async () => {
      const d = created(await backend.domains.create(accountId, input('mine.test'), 10));
      await backend.domains.markChecked(accountId, d.id, { valid: true, records: {}, at: 1 });
      const s = backend.domains;
      assert.equal(await s.get(otherAccountId, d.id), null);
      assert.equal(await s.findByName(otherAccountId, 'mine.test'), null);
      assert.deepEqual(await s.list(otherAccountId), []);
      assert.equal(await s.markChecked(otherAccountId, d.id, { valid: false, records: {}, at: 2 }), null);
      assert.deepEqual(await s.signingKeys(otherAccountId, 'mine.test'), []);
      assert.equal(await s.delete(otherAccountId, d.id), false);
      assert.equal((await s.get(accountId, d.id))!.valid, true, 'untouched');
    });

    test('delete removes the domain and its keys; the name can be added again', async () => {
      const d = created(await backend.domains.create(accountId, input('gone.test'), 10));
      assert.equal(await backend.domains.delete(accountId, d.id), true);
      assert.equal(await backend.domains.get(accountId, d.id), null);
      assert.equal(await backend.domains.delete(accountId, d.id), false);
      const again = created(await backend.domains.create(accountId, input('gone.test'), 10));
      assert.notEqual(again.id, d.id, 'ids are not reused');
    });

    test('domains and keys survive a reopen', async () => {
      const d = created(await backend.domains.create(accountId, input('durable.test'), 10));
      await backend.domains.markChecked(accountId, d.id, { valid: true, records: {}, at: 99 });
      backend = await reopen();
      assert.equal((await backend.domains.get(accountId, d.id))!.valid, true);
      assert.equal((await backend.domains.signingKeys(accountId, 'durable.test')).length, 2);
    });

    test('list is oldest first', async () => {
      const names = ['c.test', 'a.test', 'b.test'];
      for (const n of names) created(await backend.domains.create(accountId, input(n), 10));
      assert.deepEqual((await backend.domains.list(accountId)).map((d) => d.domain), names);
    });
    test('concurrent creations: one domain per name, and the limit holds', async () => {
      const same = await Promise.all(Array.from({ length: 6 }, () => backend.domains.create(accountId, input('race.test'), 10)));
      assert.equal(same.filter((d) => typeof d === 'object').length, 1);
      assert.equal(same.filter((d) => d === 'duplicate').length, 5);
      const many = await Promise.all(Array.from({ length: 8 }, (_, i) => backend.domains.create(accountId, input(`m${i}.test`), 4)));
      assert.equal(many.filter((d) => typeof d === 'object').length, 3);
      assert.equal(many.filter((d) => d === 'limit').length, 5);
      assert.equal((await backend.domains.list(accountId)).length, 4);
    });
  });
}
