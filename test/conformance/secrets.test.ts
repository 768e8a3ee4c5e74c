import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

for (const [name, make] of backendsUnderTest()) {
  describe(`instance secrets conformance: ${name}`, () => {
    let backend: Backend;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, reopen } = fresh));

    test('the first secret made is the one every later caller and a restart read', async () => {
      const first = await backend.secrets.getOrCreate('root', () => 'one');
      const second = await backend.secrets.getOrCreate('root', () => 'two');
      assert.equal(first, 'one');
      assert.equal(second, 'one');
      backend = await reopen();
      assert.equal(await backend.secrets.getOrCreate('root', () => 'three'), 'one');
    });

    test('signing keys kept in the store verify across a restart; a configured key replaces them', async () => {
      const keys = await SigningKeys.load(null, backend.secrets);
      const mac = keys.sign('tracking', 'msg-1');
      backend = await reopen();
      const again = await SigningKeys.load(null, backend.secrets);
      assert.ok(again.verify('tracking', 'msg-1', mac));
      assert.ok(!again.verify('return-path', 'msg-1', mac), 'a key of one purpose never verifies another');
      assert.ok(!again.verify('tracking', 'msg-2', mac));
      const configured = await SigningKeys.load(Buffer.alloc(32, 7).toString('base64'), backend.secrets);
      assert.ok(!configured.verify('tracking', 'msg-1', mac));
    });
  });
}
