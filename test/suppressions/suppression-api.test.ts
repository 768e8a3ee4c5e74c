import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';

let herald: TestHerald;
let accountId: string;

before(async () => {
  herald = await startTestHerald();
  accountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
});
after(() => herald.close());

async function json(res: Response): Promise<unknown> {
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

/** Asserts a 4xx in SendGrid's error shape with Herald's code and the field at fault. */
async function refused(res: Response, status: number, code: string, field?: string | null): Promise<void> {
  const body = (await json(res)) as { errors: { code: string; field: string | null; message: string; help: string }[] };
  assert.equal(res.status, status, JSON.stringify(body));
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, 'SendGrid error shape');
  assert.equal(body.errors[0]!.code, code, JSON.stringify(body));
  if (field !== undefined) assert.equal(body.errors[0]!.field, field);
  assert.equal(typeof body.errors[0]!.message, 'string');
}

for (const list of ['bounces', 'blocks', 'spam_reports', 'invalid_emails'] as const) {
  // Underscores are not allowed in domain labels: a hyphenated stand-in.
  const dom = `${list.replace('_', '-')}.example`;
  test(`/v3/suppression/${list}: list, read one, delete one, delete some, delete all`, async () => {
    const s = herald.backend.suppressions;
    await s.add(accountId, list, [
      { email: `One@${dom}`, reason: '550 5.1.1 no such user', status: '5.1.1', ip: '192.0.2.7' },
      { email: `two@${dom}` },
      { email: `three@${dom}` },
      { email: `four@${dom}` },
    ]);
    const all = (await json(await herald.api(`/v3/suppression/${list}`))) as Record<string, unknown>[];
    assert.equal(all.length, 4);
    const one = all.find((e) => e.email === `one@${dom}`)!;
    assert.equal(typeof one.created, 'number');
    assert.ok(Math.abs((one.created as number) - Date.now() / 1000) < 60, 'created is unix seconds');
    const expectedKeys = { bounces: ['created', 'email', 'reason', 'status'], blocks: ['created', 'email', 'reason', 'status'], spam_reports: ['created', 'email', 'ip'], invalid_emails: ['created', 'email', 'reason'] }[list];
    assert.deepEqual(Object.keys(one).sort(), expectedKeys);
    if (list === 'spam_reports') assert.equal(one.ip, '192.0.2.7');
    else assert.equal(one.reason, '550 5.1.1 no such user');

    const paged = (await json(await herald.api(`/v3/suppression/${list}?limit=2&offset=1`))) as unknown[];
    assert.equal(paged.length, 2);
    const future = Math.floor(Date.now() / 1000) + 3600;
    assert.deepEqual(await json(await herald.api(`/v3/suppression/${list}?start_time=${future}`)), []);

    // Case does not matter in the path.
    const single = (await json(await herald.api(`/v3/suppression/${list}/ONE@${dom}`))) as Record<string, unknown>[];
    assert.deepEqual(single.map((e) => e.email), [`one@${dom}`]);
    assert.deepEqual(await json(await herald.api(`/v3/suppression/${list}/nobody@example.com`)), []);

    assert.equal((await herald.api(`/v3/suppression/${list}/One@${dom}`, { method: 'DELETE' })).status, 204);
    await refused(await herald.api(`/v3/suppression/${list}/one@${dom}`, { method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND');
    assert.equal((await herald.api(`/v3/suppression/${list}`, { method: 'DELETE', json: { emails: [`two@${dom}`] } })).status, 204);
    assert.equal(((await json(await herald.api(`/v3/suppression/${list}`))) as unknown[]).length, 2);
    assert.equal((await herald.api(`/v3/suppression/${list}`, { method: 'DELETE', json: { delete_all: true } })).status, 204);
    assert.deepEqual(await json(await herald.api(`/v3/suppression/${list}`)), []);
  });
}

test('global unsubscribes: add, read one, list, delete one', async () => {
  const added = await herald.api('/v3/asm/suppressions/global', { method: 'POST', json: { recipient_emails: ['Gone@Example.com', 'also@example.com', 'gone@example.com'] } });
  assert.equal(added.status, 201);
  assert.deepEqual(await json(added), { recipient_emails: ['gone@example.com', 'also@example.com'] });
  assert.deepEqual(await json(await herald.api('/v3/asm/suppressions/global/GONE@example.com')), { recipient_email: 'gone@example.com' });
  assert.deepEqual(await json(await herald.api('/v3/asm/suppressions/global/never@example.com')), {});
  const listed = (await json(await herald.api('/v3/asm/suppressions/global'))) as { email: string; created: number }[];
  assert.deepEqual(listed.map((e) => e.email).sort(), ['also@example.com', 'gone@example.com']);
  assert.deepEqual(((await json(await herald.api('/v3/suppression/unsubscribes'))) as unknown[]).length, 2);
  assert.equal((await herald.api('/v3/asm/suppressions/global/gone@example.com', { method: 'DELETE' })).status, 204);
  assert.deepEqual(await json(await herald.api('/v3/asm/suppressions/global/gone@example.com')), {});
  await refused(await herald.api('/v3/asm/suppressions/global/gone@example.com', { method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND');
  await herald.api('/v3/asm/suppressions/global/also@example.com', { method: 'DELETE' });
});

test('hostile and malformed input gets a precise 400', async () => {
  const post = (json: unknown) => herald.api('/v3/asm/suppressions/global', { method: 'POST', json });
  const del = (json: unknown) => herald.api('/v3/suppression/bounces', { method: 'DELETE', json });
  await refused(await herald.api('/v3/asm/suppressions/global', { method: 'POST', headers: { 'content-type': 'application/json' } }), 400, 'HERALD_ERR_BAD_JSON');
  await refused(await post([]), 400, 'HERALD_ERR_INVALID_FIELD', null);
  await refused(await post({}), 400, 'HERALD_ERR_MISSING_FIELD', 'recipient_emails');
  await refused(await post({ recipient_emails: 'a@example.com' }), 400, 'HERALD_ERR_INVALID_FIELD', 'recipient_emails');
  await refused(await post({ recipient_emails: [] }), 400, 'HERALD_ERR_MISSING_FIELD', 'recipient_emails');
  await refused(await post({ recipient_emails: ['ok@example.com', 'not-an-address'] }), 400, 'HERALD_ERR_INVALID_EMAIL', 'recipient_emails.1');
  await refused(await post({ recipient_emails: [42] }), 400, 'HERALD_ERR_INVALID_EMAIL', 'recipient_emails.0');
  await refused(await post({ recipient_emails: ['victim@example.com\r\nBcc: all@example.com'] }), 400, 'HERALD_ERR_HEADER_INJECTION', 'recipient_emails.0');
  await refused(await post({ recipient_emails: ['nul\u0000@example.com'] }), 400, 'HERALD_ERR_HEADER_INJECTION', 'recipient_emails.0');
  await refused(await post({ recipient_emails: Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`) }), 400, 'HERALD_ERR_INVALID_FIELD', 'recipient_emails');
  await refused(await post({ recipient_emails: [`${'a'.repeat(250)}@example.com`] }), 400, 'HERALD_ERR_INVALID_EMAIL', 'recipient_emails.0');
  await refused(await herald.api('/v3/asm/suppressions/global', { method: 'POST', body: 'recipient_emails=a', headers: { 'content-type': 'text/plain' } }), 415, 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE');
  await refused(await herald.api('/v3/asm/suppressions/global', { method: 'POST', body: '{"recipient_emails": [', headers: { 'content-type': 'application/json' } }), 400, 'HERALD_ERR_BAD_JSON');
  await refused(await herald.api('/v3/asm/suppressions/global', { method: 'POST', body: '{"__proto__": {"x": 1}, "recipient_emails": ["a@example.com"]}', headers: { 'content-type': 'application/json' } }), 400, 'HERALD_ERR_BAD_JSON');
  // Bulk delete.
  await refused(await herald.api('/v3/suppression/bounces', { method: 'DELETE' }), 400, 'HERALD_ERR_BAD_JSON');
  await refused(await del({}), 400, 'HERALD_ERR_MISSING_FIELD', 'emails');
  await refused(await del({ delete_all: 'yes' }), 400, 'HERALD_ERR_INVALID_FIELD', 'delete_all');
  await refused(await del({ delete_all: true, emails: ['a@example.com'] }), 400, 'HERALD_ERR_INVALID_FIELD', 'delete_all');
  await refused(await del({ emails: ['bad address@example.com'] }), 400, 'HERALD_ERR_INVALID_EMAIL', 'emails.0');
  // Path addresses, encoded CRLF included.
  await refused(await herald.api('/v3/suppression/bounces/a%0d%0aX-Evil:1@example.com'), 400, 'HERALD_ERR_HEADER_INJECTION', 'email');
  await refused(await herald.api('/v3/asm/suppressions/global/a%0A@example.com', { method: 'DELETE' }), 400, 'HERALD_ERR_HEADER_INJECTION', 'email');
  await refused(await herald.api('/v3/suppression/blocks/not-an-address'), 400, 'HERALD_ERR_INVALID_EMAIL', 'email');
  // Query parameters.
  await refused(await herald.api('/v3/suppression/bounces?limit=0'), 400, 'HERALD_ERR_INVALID_FIELD', 'limit');
  await refused(await herald.api('/v3/suppression/bounces?limit=501'), 400, 'HERALD_ERR_INVALID_FIELD', 'limit');
  await refused(await herald.api('/v3/suppression/bounces?limit=ten'), 400, 'HERALD_ERR_INVALID_FIELD', 'limit');
  await refused(await herald.api('/v3/suppression/bounces?limit=1&limit=2'), 400, 'HERALD_ERR_INVALID_FIELD', 'limit');
  await refused(await herald.api('/v3/suppression/bounces?offset=-1'), 400, 'HERALD_ERR_INVALID_FIELD', 'offset');
  await refused(await herald.api('/v3/suppression/bounces?start_time=2000&end_time=1000'), 400, 'HERALD_ERR_INVALID_FIELD', 'end_time');
  await refused(await herald.api('/v3/suppression/bounces?start_time=1e3'), 400, 'HERALD_ERR_INVALID_FIELD', 'start_time');
  await refused(await herald.api('/v3/suppression/bounces?email=%0d%0a'), 400, 'HERALD_ERR_HEADER_INJECTION', 'email');
});

test('each endpoint needs its scope', async () => {
  const readOnly = await herald.newKey(['suppression.read']);
  assert.equal((await herald.api('/v3/suppression/bounces', { key: readOnly })).status, 200);
  await refused(await herald.api('/v3/asm/suppressions/global', { method: 'POST', key: readOnly, json: { recipient_emails: ['a@example.com'] } }), 403, 'HERALD_ERR_FORBIDDEN');
  await refused(await herald.api('/v3/suppression/bounces', { method: 'DELETE', key: readOnly, json: { delete_all: true } }), 403, 'HERALD_ERR_FORBIDDEN');
  await refused(await herald.api('/v3/asm/groups', { key: readOnly }), 403, 'HERALD_ERR_FORBIDDEN');
  await refused(await herald.api('/v3/suppression/bounces', { key: null }), 401, 'HERALD_ERR_UNAUTHORIZED');
  const mailOnly = await herald.newKey(['mail.send']);
  await refused(await herald.api('/v3/suppression/spam_reports', { key: mailOnly }), 403, 'HERALD_ERR_FORBIDDEN');
});

test('tenancy: another account neither sees nor removes these suppressions', async () => {
  const b = await herald.newAccount('tenant-b-suppressions');
  await herald.backend.suppressions.add(accountId, 'bounces', [{ email: 'mine@example.com', reason: 'r', status: '5.1.1' }]);
  await herald.api('/v3/asm/suppressions/global', { method: 'POST', json: { recipient_emails: ['mine-unsub@example.com'] } });
  assert.deepEqual(await json(await herald.api('/v3/suppression/bounces', { key: b.apiKey })), []);
  assert.deepEqual(await json(await herald.api('/v3/suppression/bounces/mine@example.com', { key: b.apiKey })), []);
  assert.deepEqual(await json(await herald.api('/v3/asm/suppressions/global/mine-unsub@example.com', { key: b.apiKey })), {});
  await refused(await herald.api('/v3/suppression/bounces/mine@example.com', { method: 'DELETE', key: b.apiKey }), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api('/v3/asm/suppressions/global/mine-unsub@example.com', { method: 'DELETE', key: b.apiKey }), 404, 'HERALD_ERR_NOT_FOUND');
  assert.equal((await herald.api('/v3/suppression/bounces', { method: 'DELETE', key: b.apiKey, json: { delete_all: true } })).status, 204);
  // Still there for A.
  assert.equal(((await json(await herald.api('/v3/suppression/bounces/mine@example.com'))) as unknown[]).length, 1);
  assert.deepEqual(await json(await herald.api('/v3/asm/suppressions/global/mine-unsub@example.com')), { recipient_email: 'mine-unsub@example.com' });
  await herald.api('/v3/suppression/bounces', { method: 'DELETE', json: { delete_all: true } });
  await herald.api('/v3/asm/suppressions/global/mine-unsub@example.com', { method: 'DELETE' });
});
