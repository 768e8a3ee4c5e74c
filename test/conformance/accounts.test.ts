import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import type { ApiKeyRecord } from '../../src/accounts/account-store.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const key = (id: string, accountId: string, createdAt: number): ApiKeyRecord => ({
  id,
  accountId,
  name: `key ${id}`,
  scopes: ['mail.send', 'inbox.read'],
  secretHash: 'ab'.repeat(32),
  createdAt,
});

for (const [name, make] of backendsUnderTest()) {
  describe(`account store conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('creates accounts and finds them by id and by name', async () => {
      const a = await backend.accounts.createAccount('initech');
      assert.equal(a.name, 'initech');
      assert.ok(a.id.length > 0);
      assert.deepEqual(await backend.accounts.getAccount(a.id), a);
      assert.deepEqual(await backend.accounts.findAccountByName('initech'), a);
      assert.equal(await backend.accounts.getAccount('nope'), null);
      assert.equal(await backend.accounts.findAccountByName('Initech'), null, 'names match exactly');
      assert.equal(await backend.accounts.getAccount('\0'), null);
      assert.equal(await backend.accounts.findAccountByName('\0'), null);
    });

    test('a taken account name is refused with an error', async () => {
      await assert.rejects(backend.accounts.createAccount('acme'));
      assert.equal((await backend.accounts.listAccounts()).filter((a) => a.name === 'acme').length, 1);
    });

    test('lists accounts oldest first, those of one millisecond in creation order', async () => {
      const names = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
      for (const n of names) await backend.accounts.createAccount(n);
      assert.deepEqual((await backend.accounts.listAccounts()).map((a) => a.name), ['acme', 'globex', ...names]);
    });

    test('API keys: saved, read back by id, listed per account in creation order', async () => {
      const at = Date.now();
      // The same createdAt: ties keep the order the keys were saved in.
      for (const id of ['k3', 'k1', 'k2']) await backend.accounts.saveApiKey(key(id, accountId, at));
      await backend.accounts.saveApiKey(key('other', otherAccountId, at));
      assert.deepEqual(await backend.accounts.getApiKey('k1'), key('k1', accountId, at));
      assert.deepEqual(await backend.accounts.listApiKeys(accountId), ['k3', 'k1', 'k2'].map((id) => key(id, accountId, at)));
      assert.deepEqual(await backend.accounts.listApiKeys(otherAccountId), [key('other', otherAccountId, at)]);
      assert.equal(await backend.accounts.getApiKey('missing'), null);
      assert.equal(await backend.accounts.getApiKey('\0'), null);
    });

    test("deleting a key works only from its own account", async () => {
      await backend.accounts.saveApiKey(key('mine', accountId, Date.now()));
      assert.equal(await backend.accounts.deleteApiKey(otherAccountId, 'mine'), false);
      assert.ok(await backend.accounts.getApiKey('mine'));
      assert.equal(await backend.accounts.deleteApiKey(accountId, 'mine'), true);
      assert.equal(await backend.accounts.getApiKey('mine'), null);
      assert.equal(await backend.accounts.deleteApiKey(accountId, 'mine'), false);
      assert.equal(await backend.accounts.deleteApiKey(accountId, '\0'), false);
    });

    test('batches: creating one twice is harmless, and one account does not see another\'s', async () => {
      await backend.accounts.createBatch(accountId, 'batch-1');
      await backend.accounts.createBatch(accountId, 'batch-1');
      assert.equal(await backend.accounts.batchExists(accountId, 'batch-1'), true);
      assert.equal(await backend.accounts.batchExists(otherAccountId, 'batch-1'), false);
      assert.equal(await backend.accounts.batchExists(accountId, 'batch-2'), false);
      assert.equal(await backend.accounts.batchExists(accountId, '\0'), false);
    });

    test('accounts, keys and batches survive a restart', async () => {
      await backend.accounts.saveApiKey(key('durable', accountId, 5));
      await backend.accounts.createBatch(accountId, 'b');
      backend = await reopen();
      assert.equal((await backend.accounts.getAccount(accountId))!.name, 'acme');
      assert.deepEqual(await backend.accounts.getApiKey('durable'), key('durable', accountId, 5));
      assert.equal(await backend.accounts.batchExists(accountId, 'b'), true);
    });
  });
}
