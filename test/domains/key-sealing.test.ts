import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openBackend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { HeraldError } from '../../src/errors.js';
import { generateDkimKeys } from '../../src/domains/dkim-keys.js';
import { tempDataDir } from '../support/test-herald.js';

const open = (dataDir: string, dkimKeyEncryptionKey: string | null) =>
  openBackend(loadConfig({ env: {}, overrides: { dataDir, ...(dkimKeyEncryptionKey ? { dkimKeyEncryptionKey } : {}) } }));

test('with dkimKeyEncryptionKey, private keys are sealed on disk and open only with that key', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const secret = randomBytes(32).toString('base64');
  const keys = generateDkimKeys('seal');
  let backend = await open(dataDir, secret);
  const account = (await backend.accounts.createAccount('acme')).id;
  const d = await backend.domains.create(account, { domain: 'sealed.test', selector: 'seal', keys }, 10);
  assert.ok(typeof d === 'object');
  await backend.domains.markChecked(account, d.id, { valid: true, records: {}, at: 1 });
  assert.deepEqual((await backend.domains.signingKeys(account, 'sealed.test')).map((k) => k.privateKeyPem), keys.map((k) => k.privateKeyPem));
  await backend.close();

  const db = new Database(join(dataDir, 'herald.db'), { readonly: true });
  const stored = (db.prepare('SELECT private_key FROM dkim_keys').all() as { private_key: string }[]).map((r) => r.private_key);
  db.close();
  assert.equal(stored.length, 2);
  for (const s of stored) {
    assert.match(s, /^sealed:v1:/);
    assert.doesNotMatch(s, /PRIVATE KEY/);
  }

  // Without the key, or with another one, signing keys cannot be had; the public side still reads.
  for (const other of [null, randomBytes(32).toString('hex')]) {
    backend = await open(dataDir, other);
    assert.equal((await backend.domains.get(account, d.id))!.keys.length, 2);
    await assert.rejects(backend.domains.signingKeys(account, 'sealed.test'), (e: unknown) => e instanceof HeraldError && e.code === 'HERALD_ERR_DKIM_KEY_SEALED');
    await backend.close();
  }
});

test('a malformed dkimKeyEncryptionKey stops start-up without echoing it', () => {
  for (const bad of ['short', 'x'.repeat(64), randomBytes(16).toString('base64')]) {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { dkimKeyEncryptionKey: bad } }),
      (e: unknown) => e instanceof HeraldError && e.code === 'HERALD_ERR_CONFIG' && !e.message.includes(bad),
    );
  }
});
