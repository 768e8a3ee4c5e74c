import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';

let herald: TestHerald;

before(async () => {
  herald = await startTestHerald();
});
after(() => herald.close());

async function json(res: Response): Promise<unknown> {
  const text = await res.text();
  return text === '' ? undefined : JSON.parse(text);
}

async function refused(res: Response, status: number, code: string, field?: string | null): Promise<void> {
  const body = (await json(res)) as { errors: { code: string; field: string | null }[] };
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.errors[0]!.code, code, JSON.stringify(body));
  if (field !== undefined) assert.equal(body.errors[0]!.field, field);
}

interface GroupJson {
  id: number;
  name: string;
  description: string;
  is_default: boolean;
  unsubscribes?: number;
}

async function createGroup(name: string, extra: Record<string, unknown> = {}, key?: string): Promise<GroupJson> {
  const res = await herald.api('/v3/asm/groups', { method: 'POST', json: { name, description: `${name} mail`, ...extra }, ...(key ? { key } : {}) });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as GroupJson;
}

test('groups: create, list, read, update, delete in SendGrid shapes', async () => {
  const news = await createGroup('Newsletters', { is_default: true });
  assert.deepEqual(Object.keys(news).sort(), ['description', 'id', 'is_default', 'name']);
  assert.ok(Number.isInteger(news.id) && news.id > 0);
  assert.equal(news.is_default, true);
  const alerts = await createGroup('Alerts');
  assert.equal(alerts.is_default, false);

  const listed = (await json(await herald.api('/v3/asm/groups'))) as GroupJson[];
  assert.deepEqual(listed.map((g) => [g.name, g.is_default, g.unsubscribes]), [['Newsletters', true, 0], ['Alerts', false, 0]]);
  const narrowed = (await json(await herald.api(`/v3/asm/groups?id=${alerts.id}`))) as GroupJson[];
  assert.deepEqual(narrowed.map((g) => g.id), [alerts.id]);

  assert.deepEqual(await json(await herald.api(`/v3/asm/groups/${news.id}`)), { ...news, unsubscribes: 0 });
  // SendGrid answers an update with 201; making another group the default unsets the first.
  const patched = await herald.api(`/v3/asm/groups/${alerts.id}`, { method: 'PATCH', json: { name: 'System alerts', is_default: true } });
  assert.equal(patched.status, 201);
  assert.deepEqual(await patched.json(), { id: alerts.id, name: 'System alerts', description: 'Alerts mail', is_default: true, unsubscribes: 0 });
  assert.equal(((await json(await herald.api(`/v3/asm/groups/${news.id}`))) as GroupJson).is_default, false);

  assert.equal((await herald.api(`/v3/asm/groups/${news.id}`, { method: 'DELETE' })).status, 204);
  await refused(await herald.api(`/v3/asm/groups/${news.id}`), 404, 'HERALD_ERR_NOT_FOUND', 'group_id');
  await refused(await herald.api(`/v3/asm/groups/${news.id}`, { method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND');
  await herald.api(`/v3/asm/groups/${alerts.id}`, { method: 'DELETE' });
});

test('group suppressions: add, list, remove; the count follows', async () => {
  const g = await createGroup('Offers');
  const added = await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { method: 'POST', json: { recipient_emails: ['Ann@Example.com', 'bob@example.com'] } });
  assert.equal(added.status, 201);
  assert.deepEqual(await added.json(), { recipient_emails: ['ann@example.com', 'bob@example.com'] });
  assert.deepEqual(await json(await herald.api(`/v3/asm/groups/${g.id}/suppressions`)), ['ann@example.com', 'bob@example.com']);
  assert.equal(((await json(await herald.api(`/v3/asm/groups/${g.id}`))) as GroupJson).unsubscribes, 2);
  assert.equal((await herald.api(`/v3/asm/groups/${g.id}/suppressions/ANN@example.com`, { method: 'DELETE' })).status, 204);
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions/ann@example.com`, { method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND', 'email');
  assert.deepEqual(await json(await herald.api(`/v3/asm/groups/${g.id}/suppressions`)), ['bob@example.com']);
  await herald.api(`/v3/asm/groups/${g.id}`, { method: 'DELETE' });
});

test('groups refuse bad input with precise 400s', async () => {
  const g = await createGroup('Valid');
  const post = (body: unknown) => herald.api('/v3/asm/groups', { method: 'POST', json: body });
  await refused(await post({ description: 'no name' }), 400, 'HERALD_ERR_MISSING_FIELD', 'name');
  await refused(await post({ name: 'No description' }), 400, 'HERALD_ERR_MISSING_FIELD', 'description');
  await refused(await post({ name: 'x'.repeat(31), description: 'd' }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
  await refused(await post({ name: 'ok', description: 'd'.repeat(101) }), 400, 'HERALD_ERR_INVALID_FIELD', 'description');
  await refused(await post({ name: 'Evil\r\nX-Header: 1', description: 'd' }), 400, 'HERALD_ERR_HEADER_INJECTION', 'name');
  await refused(await post({ name: 'ok', description: 'line\nbreak' }), 400, 'HERALD_ERR_HEADER_INJECTION', 'description');
  await refused(await post({ name: '   ', description: 'd' }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
  await refused(await post({ name: 7, description: 'd' }), 400, 'HERALD_ERR_INVALID_FIELD', 'name');
  await refused(await post({ name: 'ok', description: 'd', is_default: 'true' }), 400, 'HERALD_ERR_INVALID_FIELD', 'is_default');
  await refused(await post({ name: 'Valid', description: 'same name' }), 400, 'HERALD_ERR_DUPLICATE_GROUP', 'name');
  await refused(await post(['Valid']), 400, 'HERALD_ERR_INVALID_FIELD', null);
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, { method: 'PATCH', json: {} }), 400, 'HERALD_ERR_MISSING_FIELD', null);
  await refused(await herald.api('/v3/asm/groups/abc'), 400, 'HERALD_ERR_INVALID_FIELD', 'group_id');
  await refused(await herald.api('/v3/asm/groups/-1'), 400, 'HERALD_ERR_INVALID_FIELD', 'group_id');
  await refused(await herald.api('/v3/asm/groups/99999999999999999999'), 400, 'HERALD_ERR_INVALID_FIELD', 'group_id');
  await refused(await herald.api('/v3/asm/groups?id=x'), 400, 'HERALD_ERR_INVALID_FIELD', 'id');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { method: 'POST', json: { recipient_emails: ['a@example.com\r\n'] } }), 400, 'HERALD_ERR_HEADER_INJECTION', 'recipient_emails.0');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { method: 'POST', json: { recipient_emails: Array.from({ length: 1001 }, (_, i) => `u${i}@example.com`) } }), 400, 'HERALD_ERR_INVALID_FIELD', 'recipient_emails');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions/a%0D%0A@example.com`, { method: 'DELETE' }), 400, 'HERALD_ERR_HEADER_INJECTION', 'email');
  await refused(await herald.api('/v3/asm/groups/424242/suppressions', { method: 'POST', json: { recipient_emails: ['a@example.com'] } }), 404, 'HERALD_ERR_NOT_FOUND', 'group_id');
  await herald.api(`/v3/asm/groups/${g.id}`, { method: 'DELETE' });
});

test('an account holds at most 200 groups', async () => {
  const t = await herald.newAccount('group-limit');
  for (let i = 0; i < 200; i++) await createGroup(`g${i}`, {}, t.apiKey);
  await refused(await herald.api('/v3/asm/groups', { method: 'POST', key: t.apiKey, json: { name: 'one more', description: 'd' } }), 400, 'HERALD_ERR_GROUP_LIMIT', null);
});

test('group scopes are enforced', async () => {
  const reader = await herald.newKey(['asm.groups.read']);
  assert.equal((await herald.api('/v3/asm/groups', { key: reader })).status, 200);
  await refused(await herald.api('/v3/asm/groups', { method: 'POST', key: reader, json: { name: 'n', description: 'd' } }), 403, 'HERALD_ERR_FORBIDDEN');
  const g = await createGroup('Scoped');
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, { method: 'PATCH', key: reader, json: { name: 'n' } }), 403, 'HERALD_ERR_FORBIDDEN');
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, { method: 'DELETE', key: reader }), 403, 'HERALD_ERR_FORBIDDEN');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { method: 'POST', key: reader, json: { recipient_emails: ['a@example.com'] } }), 403, 'HERALD_ERR_FORBIDDEN');
  await herald.api(`/v3/asm/groups/${g.id}`, { method: 'DELETE' });
});

test("tenancy: another account can neither see nor change this account's groups", async () => {
  const b = await herald.newAccount('tenant-b-groups');
  const g = await createGroup('Private');
  await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { method: 'POST', json: { recipient_emails: ['member@example.com'] } });
  const as = { key: b.apiKey };
  assert.deepEqual(await json(await herald.api('/v3/asm/groups', as)), []);
  assert.deepEqual(await json(await herald.api(`/v3/asm/groups?id=${g.id}`, as)), []);
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, as), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, { ...as, method: 'PATCH', json: { name: 'taken over' } }), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions`, as), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions`, { ...as, method: 'POST', json: { recipient_emails: ['x@example.com'] } }), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api(`/v3/asm/groups/${g.id}/suppressions/member@example.com`, { ...as, method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND');
  await refused(await herald.api(`/v3/asm/groups/${g.id}`, { ...as, method: 'DELETE' }), 404, 'HERALD_ERR_NOT_FOUND');
  // B may use the same name for its own group.
  await createGroup('Private', {}, b.apiKey);
  const mine = (await json(await herald.api(`/v3/asm/groups/${g.id}`))) as GroupJson;
  assert.equal(mine.name, 'Private');
  assert.equal(mine.unsubscribes, 1);
  assert.deepEqual(await json(await herald.api(`/v3/asm/groups/${g.id}/suppressions`)), ['member@example.com']);
  await herald.api(`/v3/asm/groups/${g.id}`, { method: 'DELETE' });
});
