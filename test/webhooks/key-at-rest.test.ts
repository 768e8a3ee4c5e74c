import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openBackend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { makeWebhookKeyPair } from '../../src/webhooks/webhook-signature.js';
import { tempDataDir } from '../support/test-herald.js';

test('a webhook signing key is stored sealed with dkimKeyEncryptionKey and opened only for signing', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir, dkimKeyEncryptionKey: Buffer.alloc(32, 9).toString('base64') } }));
  const accountId = (await backend.accounts.createAccount('acme')).id;
  const made = await backend.webhooks.create(accountId, { url: 'https://hooks.example/', enabled: true, eventTypes: ['processed'], friendlyName: null }, 5, Date.now());
  assert.ok(made !== 'limit');
  const keys = makeWebhookKeyPair();
  await backend.webhooks.setSigningKey(accountId, made.id, keys, Date.now());
  assert.equal(await backend.webhooks.signingKey(accountId, made.id), keys.privateKeyPem);
  await backend.close();
  const db = new Database(join(dataDir, 'herald.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT private_key FROM webhook_endpoints WHERE id = ?').get(made.id) as { private_key: string };
    assert.match(row.private_key, /^sealed:v1:/);
    assert.ok(!row.private_key.includes('PRIVATE KEY'));
  } finally {
    db.close();
  }
});
