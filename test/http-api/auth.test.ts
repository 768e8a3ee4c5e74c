import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestHerald, mailBody, type TestHerald } from '../support/test-herald.js';

// API keys as SendGrid has them: `Authorization: Bearer SG.<id>.<secret>`, scoped, revocable,
// and the secret shown once.

interface ErrorEntry {
  message: string;
  field: string | null;
  help: string;
  code: string;
}

const INVALID_GRANT = 'The provided authorization grant is invalid, expired, or revoked';

let herald: TestHerald;

before(async () => {
  herald = await startTestHerald();
});

after(async () => {
  await herald.close();
});

async function errorsOf(res: Response): Promise<ErrorEntry[]> {
  const body = (await res.json()) as { errors: ErrorEntry[] };
  assert.ok(Array.isArray(body.errors) && body.errors.length === 1, JSON.stringify(body));
  return body.errors;
}

async function expectUnauthorized(res: Response, message: string | RegExp = INVALID_GRANT): Promise<void> {
  assert.equal(res.status, 401);
  const [error] = await errorsOf(res);
  assert.equal(error!.code, 'HERALD_ERR_UNAUTHORIZED');
  assert.equal(error!.field, null);
  if (typeof message === 'string') assert.equal(error!.message, message);
  else assert.match(error!.message, message);
}

async function expectForbidden(res: Response, mentions: RegExp): Promise<ErrorEntry> {
  assert.equal(res.status, 403);
  const [error] = await errorsOf(res);
  assert.equal(error!.code, 'HERALD_ERR_FORBIDDEN');
  assert.match(error!.message, mentions);
  return error!;
}

const sendWith = (key: string | null, headers?: Record<string, string>) =>
  herald.api('/v3/mail/send', { method: 'POST', json: mailBody(), key, ...(headers ? { headers } : {}) });

/** The `<id>` of `SG.<id>.<secret>`. */
const keyId = (key: string) => key.split('.')[1]!;
const secretOf = (key: string) => key.split('.')[2]!;

/** Replaces the character at `index` with another one of the key alphabet. */
function flip(text: string, index: number): string {
  const c = text[index]!;
  return text.slice(0, index) + (c === 'A' ? 'B' : 'A') + text.slice(index + 1);
}

describe('credentials', () => {
  test('no Authorization header is a 401', async () => {
    await expectUnauthorized(await sendWith(null), /Bearer/);
  });

  test('a Bearer of garbage is a 401 with SendGrid\'s message', async () => {
    await expectUnauthorized(await sendWith('garbage'));
  });

  test('an empty Bearer is a 401', async () => {
    await expectUnauthorized(await herald.api('/v3/messages', { headers: { authorization: 'Bearer ' } }), /Bearer/);
  });

  test('a well-formed but unknown key is a 401 with SendGrid\'s message', async () => {
    const unknown = `SG.${'A'.repeat(22)}.${'b'.repeat(43)}`;
    await expectUnauthorized(await sendWith(unknown));
  });

  test('a key with one wrong secret character is a 401 with SendGrid\'s message', async () => {
    const key = await herald.newKey(['mail.send']);
    const [sg, id, secret] = key.split('.') as [string, string, string];
    await expectUnauthorized(await sendWith(`${sg}.${id}.${flip(secret, 20)}`));
    await expectUnauthorized(await sendWith(`${sg}.${id}.${flip(secret, 0)}`));
    assert.equal((await sendWith(key)).status, 202, 'the right key still works');
  });

  test('a key with one wrong id character is a 401', async () => {
    const key = await herald.newKey(['mail.send']);
    const [sg, id, secret] = key.split('.') as [string, string, string];
    await expectUnauthorized(await sendWith(`${sg}.${flip(id, 5)}.${secret}`));
  });

  test('a valid key with trailing junk is a 401', async () => {
    await expectUnauthorized(await sendWith(`${herald.apiKey}x`));
  });

  test('Basic auth is a 401, even with a valid key as the password', async () => {
    const basic = Buffer.from(`apikey:${herald.apiKey}`).toString('base64');
    await expectUnauthorized(await sendWith(null, { authorization: `Basic ${basic}` }), /Bearer/);
  });

  test('the key in a query string is not accepted', async () => {
    await expectUnauthorized(await herald.api(`/v3/messages?api_key=${encodeURIComponent(herald.apiKey)}`, { key: null }), /Bearer/);
  });

  test('the Bearer scheme is case-insensitive', async () => {
    const res = await herald.api('/v3/messages', { key: null, headers: { authorization: `bearer ${herald.apiKey}` } });
    assert.equal(res.status, 200);
  });
});

describe('scopes', () => {
  test('a key without mail.send is a 403 on send and the message names the scope', async () => {
    const key = await herald.newKey(['messages.read', 'inbox.read']);
    await expectForbidden(await sendWith(key), /mail\.send/);
  });

  test('a key with only mail.send is a 403 on GET /v3/messages', async () => {
    const key = await herald.newKey(['mail.send']);
    assert.equal((await sendWith(key)).status, 202);
    await expectForbidden(await herald.api('/v3/messages', { key }), /messages\.read/);
    await expectForbidden(await herald.api('/v1/inbox', { key }), /inbox\.read/);
    await expectForbidden(await herald.api('/v3/api_keys', { key }), /api_keys\.read/);
  });

  test('a key without api_keys.create cannot create keys', async () => {
    const key = await herald.newKey(['mail.send', 'api_keys.read']);
    await expectForbidden(await herald.api('/v3/api_keys', { method: 'POST', key, json: { name: 'x', scopes: ['mail.send'] } }), /api_keys\.create/);
  });

  test('a key cannot create a key with scopes it lacks', async () => {
    const key = await herald.newKey(['api_keys.create', 'mail.send']);
    const res = await herald.api('/v3/api_keys', { method: 'POST', key, json: { name: 'escalate', scopes: ['mail.send', 'messages.read'] } });
    const error = await expectForbidden(res, /messages\.read/);
    assert.equal(error.field, 'scopes');
  });

  test('a limited key cannot escalate by omitting scopes or sending an empty list (both mean full access)', async () => {
    const key = await herald.newKey(['api_keys.create', 'mail.send']);
    await expectForbidden(await herald.api('/v3/api_keys', { method: 'POST', key, json: { name: 'no scopes' } }), /api_keys\.delete/);
    await expectForbidden(await herald.api('/v3/api_keys', { method: 'POST', key, json: { name: 'empty', scopes: [] } }), /api_keys\.delete/);
  });

  test('a limited key can create a key with a subset of its scopes', async () => {
    const key = await herald.newKey(['api_keys.create', 'mail.send']);
    const res = await herald.api('/v3/api_keys', { method: 'POST', key, json: { name: 'subset', scopes: ['mail.send'] } });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { api_key: string; scopes: string[] };
    assert.deepEqual(created.scopes, ['mail.send']);
    assert.equal((await sendWith(created.api_key)).status, 202);
  });

  test('an unknown scope is a 400', async () => {
    const res = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'bad', scopes: ['mail.send', 'root.everything'] } });
    assert.equal(res.status, 400);
    const [error] = await errorsOf(res);
    assert.equal(error!.code, 'HERALD_ERR_INVALID_SCOPE');
    assert.equal(error!.field, 'scopes');
    assert.match(error!.message, /root\.everything/);
  });

  test('scopes that are not an array of strings are a 400', async () => {
    for (const scopes of ['mail.send', [1], { 0: 'mail.send' }]) {
      const res = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'bad', scopes } });
      assert.equal(res.status, 400, JSON.stringify(scopes));
      const [error] = await errorsOf(res);
      assert.deepEqual([error!.code, error!.field], ['HERALD_ERR_INVALID_SCOPE', 'scopes']);
    }
  });

  test('a key name is required', async () => {
    for (const json of [{ scopes: ['mail.send'] }, { name: '  ' }, { name: 'a\r\nb' }, { name: 'n'.repeat(101) }]) {
      const res = await herald.api('/v3/api_keys', { method: 'POST', json });
      assert.equal(res.status, 400, JSON.stringify(json));
      const [error] = await errorsOf(res);
      assert.deepEqual([error!.code, error!.field], ['HERALD_ERR_MISSING_FIELD', 'name']);
    }
  });
});

describe('key lifecycle', () => {
  test('POST /v3/api_keys returns the secret once, and the new key works', async () => {
    const res = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'ci', scopes: ['mail.send', 'messages.read'] } });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { api_key: string; api_key_id: string; name: string; scopes: string[] };
    assert.match(created.api_key, /^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(created.api_key_id, keyId(created.api_key));
    assert.equal(created.name, 'ci');
    assert.deepEqual([...created.scopes].sort(), ['mail.send', 'messages.read']);
    assert.equal((await sendWith(created.api_key)).status, 202);
    assert.equal((await herald.api('/v3/messages', { key: created.api_key })).status, 200);
  });

  test('GET /v3/api_keys and GET /v3/api_keys/:id never return a secret or its hash', async () => {
    const res = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'secretive', scopes: ['mail.send'] } });
    assert.equal(res.status, 201);
    const { api_key: apiKey, api_key_id: id } = (await res.json()) as { api_key: string; api_key_id: string };
    const secret = secretOf(apiKey);
    const hash = createHash('sha256').update(secret).digest('hex');

    const listRes = await herald.api('/v3/api_keys');
    assert.equal(listRes.status, 200);
    const listText = await listRes.text();
    const list = JSON.parse(listText) as { result: Record<string, unknown>[] };
    const listed = list.result.find((k) => k.api_key_id === id);
    assert.ok(listed, 'the new key is listed');
    assert.equal(listed.name, 'secretive');

    const oneRes = await herald.api(`/v3/api_keys/${id}`);
    assert.equal(oneRes.status, 200);
    const oneText = await oneRes.text();
    const one = JSON.parse(oneText) as { result: Record<string, unknown>[] };
    assert.deepEqual(one.result, [{ api_key_id: id, name: 'secretive', scopes: ['mail.send'] }]);

    // Walk every value of both answers, and the raw texts too: no secret, hash or whole key.
    for (const [text, json] of [[listText, list], [oneText, one]] as const) {
      for (const needle of [secret, hash, apiKey, secretOf(herald.apiKey)]) assert.ok(!text.includes(needle), 'a secret leaked');
      for (const value of allValues(json)) {
        assert.ok(!(typeof value === 'string' && (value.includes(secret) || value.includes(hash))), `secret in ${value}`);
      }
      for (const key of allKeys(json)) assert.doesNotMatch(key, /secret|hash|api_key$/i);
    }
  });

  test('a revoked key stops working at once', async () => {
    const res = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'short-lived', scopes: ['mail.send', 'messages.read'] } });
    const { api_key: apiKey, api_key_id: id } = (await res.json()) as { api_key: string; api_key_id: string };
    assert.equal((await herald.api('/v3/messages', { key: apiKey })).status, 200);

    const del = await herald.api(`/v3/api_keys/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');

    await expectUnauthorized(await herald.api('/v3/messages', { key: apiKey }));
    await expectUnauthorized(await sendWith(apiKey));
    assert.equal((await herald.api(`/v3/api_keys/${id}`)).status, 404);
    const list = (await (await herald.api('/v3/api_keys')).json()) as { result: { api_key_id: string }[] };
    assert.ok(!list.result.some((k) => k.api_key_id === id));
    // Deleting twice is a 404, not a success.
    assert.equal((await herald.api(`/v3/api_keys/${id}`, { method: 'DELETE' })).status, 404);
  });

  test('a key can revoke itself and is refused on its next request', async () => {
    const key = await herald.newKey(['api_keys.delete', 'messages.read']);
    assert.equal((await herald.api(`/v3/api_keys/${keyId(key)}`, { method: 'DELETE', key })).status, 204);
    await expectUnauthorized(await herald.api('/v3/messages', { key }));
  });

  test('the default key is unaffected by the other keys\' lifecycle', async () => {
    assert.equal((await sendWith(herald.apiKey)).status, 202);
    assert.equal((await herald.api('/v3/api_keys')).status, 200);
  });
});

function* allValues(value: unknown): Generator<unknown> {
  yield value;
  if (Array.isArray(value)) for (const v of value) yield* allValues(v);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) yield* allValues(v);
}

function* allKeys(value: unknown): Generator<string> {
  if (Array.isArray(value)) for (const v of value) yield* allKeys(v);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      yield k;
      yield* allKeys(v);
    }
  }
}
