import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { defaultTrackingSettings } from '../../src/tracking/tracking-settings.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

for (const [name, make] of backendsUnderTest()) {
  describe(`tracking settings conformance: ${name}`, () => {
    let backend: Backend;
    let accountId: string;
    let otherAccountId: string;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, accountId, otherAccountId, reopen } = fresh));

    test('an account starts with everything off and SendGrid’s default subscription texts', async () => {
      assert.deepEqual(await backend.trackingSettings.get(accountId), defaultTrackingSettings());
    });

    test('a change keeps the values it does not name, survives a restart, and reaches no other account', async () => {
      await backend.trackingSettings.update(accountId, { 'click.enabled': true, 'subscription.html_content': '<p><% bye %></p>' });
      const after = await backend.trackingSettings.update(accountId, { 'click.enable_text': true, 'open.enabled': true });
      assert.deepEqual(after.click, { enabled: true, enableText: true });
      assert.equal(after.open.enabled, true);
      assert.equal(after.subscription.htmlContent, '<p><% bye %></p>');
      backend = await reopen();
      assert.deepEqual(await backend.trackingSettings.get(accountId), after);
      assert.deepEqual(await backend.trackingSettings.get(otherAccountId), defaultTrackingSettings());
    });

    test('a value can be turned off again and an empty change changes nothing', async () => {
      await backend.trackingSettings.update(accountId, { 'open.enabled': true });
      await backend.trackingSettings.update(accountId, { 'open.enabled': false });
      assert.equal((await backend.trackingSettings.get(accountId)).open.enabled, false);
      assert.deepEqual(await backend.trackingSettings.update(accountId, {}), await backend.trackingSettings.get(accountId));
    });
  });
}
