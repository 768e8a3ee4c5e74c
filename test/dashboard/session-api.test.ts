import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';
import { makeUser, PASSWORD } from './browser.js';

// The sign-in and session endpoints over real HTTP, with the inputs a browser would never send.

let herald: TestHerald;
const ALICE = 'alice@example.com';

interface ErrorReply {
  errors: { message: string; field: string | null; code: string }[];
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(herald.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function signIn(email = ALICE, password = PASSWORD, headers: Record<string, string> = {}) {
  const res = await post('/v1/dashboard/session', { email, password }, headers);
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, cookie, id: /herald_session=([^;]*)/.exec(cookie)?.[1] ?? '', body: res.status === 200 ? ((await res.json()) as { csrf_token: string; email: string; account: string; expires_at: string }) : null };
}

async function code(res: Response): Promise<string> {
  return ((await res.json()) as ErrorReply).errors[0]!.code;
}

before(async () => {
  herald = await startTestHerald();
  await makeUser(herald, ALICE);
  await makeUser(herald, 'bob@globex.test', 'globex');
});
after(() => herald?.close());

describe('sign-in', () => {
  test('the right password starts a session with a strict, HttpOnly cookie and a CSRF token', async () => {
    const { res, cookie, id, body } = await signIn('  Alice@Example.com ');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(cookie, /^herald_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    assert.equal(body!.email, ALICE);
    assert.equal(body!.account, 'default');
    assert.match(body!.csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(body!.expires_at) > Date.now());
    const who = await fetch(`${herald.url}/v1/dashboard/session`, { headers: { cookie: `herald_session=${id}` } });
    assert.equal(who.status, 200);
    assert.equal(((await who.json()) as { csrf_token: string }).csrf_token, body!.csrf_token);
  });

  test('behind an https proxy the cookie is Secure', async () => {
    const { cookie } = await signIn(ALICE, PASSWORD, { 'x-forwarded-proto': 'https' });
    assert.match(cookie, /; Secure$/);
  });

  test('an unknown address and a wrong password get the same answer', async () => {
    const unknown = await post('/v1/dashboard/session', { email: 'nobody@example.com', password: PASSWORD });
    const wrong = await post('/v1/dashboard/session', { email: ALICE, password: 'wrong password!' });
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.headers.get('set-cookie'), null);
    assert.deepEqual(await unknown.json(), await wrong.json());
  });

  test('malformed, missing, mistyped and oversized sign-ins are refused precisely', async () => {
    const cases: [unknown, number, string, string | null][] = [
      ['{"email":', 400, 'HERALD_ERR_BAD_JSON', null],
      [[], 400, 'HERALD_ERR_INVALID_FIELD', null],
      [{}, 400, 'HERALD_ERR_MISSING_FIELD', 'email'],
      [{ email: ALICE }, 400, 'HERALD_ERR_MISSING_FIELD', 'password'],
      [{ email: 42, password: 'x' }, 400, 'HERALD_ERR_INVALID_FIELD', 'email'],
      [{ email: ALICE, password: { $ne: null } }, 400, 'HERALD_ERR_INVALID_FIELD', 'password'],
      [{ email: 'a'.repeat(300), password: 'x' }, 400, 'HERALD_ERR_INVALID_FIELD', 'email'],
      [{ email: ALICE, password: 'p'.repeat(1025) }, 400, 'HERALD_ERR_INVALID_FIELD', 'password'],
      [{ email: ALICE, password: 'p'.repeat(5000) }, 413, 'HERALD_ERR_PAYLOAD_TOO_LARGE', null],
      ['{"__proto__":{"x":1},"email":"a@b.c","password":"x"}', 400, 'HERALD_ERR_BAD_JSON', null],
    ];
    for (const [body, status, errorCode, field] of cases) {
      const res = await post('/v1/dashboard/session', body);
      assert.equal(res.status, status, JSON.stringify(body).slice(0, 60));
      const reply = (await res.json()) as ErrorReply;
      assert.equal(reply.errors[0]!.code, errorCode);
      if (field !== null) assert.equal(reply.errors[0]!.field, field);
    }
    const form = await fetch(`${herald.url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `email=${ALICE}&password=x` });
    assert.equal(form.status, 415, 'a cross-site HTML form cannot sign anyone in');
    const empty = await fetch(`${herald.url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(empty.status, 400);
  });

  test('no session, or a malformed or unknown cookie, is not signed in', async () => {
    for (const cookie of [undefined, 'herald_session=', 'herald_session=short', `herald_session=${'A'.repeat(43)}`, 'herald_session=../../etc']) {
      const res = await fetch(`${herald.url}/v1/dashboard/session`, { headers: cookie ? { cookie } : {} });
      assert.equal(res.status, 401);
      const api = await fetch(`${herald.url}/v3/messages`, { headers: cookie ? { cookie } : {} });
      assert.equal(api.status, 401);
    }
  });
});

describe('the session as API credentials', () => {
  test('reads need the cookie only; changes need the CSRF token too', async () => {
    const { id, body } = await signIn();
    const cookie = `herald_session=${id}`;
    assert.equal((await fetch(`${herald.url}/v3/messages`, { headers: { cookie } })).status, 200);
    const add = (headers: Record<string, string>) => post('/v3/asm/suppressions/global', { recipient_emails: ['csrf@example.com'] }, { cookie, ...headers });
    const without = await add({});
    assert.equal(without.status, 403);
    assert.equal(await code(without), 'HERALD_ERR_CSRF');
    assert.equal((await add({ 'x-csrf-token': 'x'.repeat(43) })).status, 403);
    assert.deepEqual(await (await herald.api('/v3/asm/suppressions/global/csrf@example.com')).json(), {});
    assert.equal((await add({ 'x-csrf-token': body!.csrf_token })).status, 201);
    const del = await fetch(`${herald.url}/v3/asm/suppressions/global/csrf@example.com`, { method: 'DELETE', headers: { cookie } });
    assert.equal(del.status, 403, 'DELETE is a change too');
  });

  test('a bearer header is used instead of the cookie, even a bad one', async () => {
    const { id } = await signIn();
    const res = await fetch(`${herald.url}/v3/messages`, { headers: { cookie: `herald_session=${id}`, authorization: 'Bearer SG.nope' } });
    assert.equal(res.status, 401);
  });

  test("a session reaches its own account's data and nothing of another's", async () => {
    const bob = await signIn('bob@globex.test');
    const cookie = `herald_session=${bob.id}`;
    const keys = (await (await fetch(`${herald.url}/v3/api_keys`, { headers: { cookie } })).json()) as { result: unknown[] };
    assert.deepEqual(keys.result, []);
    const aliceKeyId = herald.apiKey.split('.')[1]!;
    const revoke = await fetch(`${herald.url}/v3/api_keys/${aliceKeyId}`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': bob.body!.csrf_token } });
    assert.equal(revoke.status, 404);
    assert.equal((await herald.api('/v3/api_keys')).status, 200, "Alice's key still works");
    const stats = (await (await fetch(`${herald.url}/v1/queue/stats`, { headers: { cookie } })).json()) as { total: number };
    assert.equal(stats.total, 0);
  });

  test('signing out needs the token, then ends the session on the server', async () => {
    const { id, body } = await signIn();
    const cookie = `herald_session=${id}`;
    const forged = await fetch(`${herald.url}/v1/dashboard/session`, { method: 'DELETE', headers: { cookie } });
    assert.equal(forged.status, 403);
    assert.equal((await fetch(`${herald.url}/v3/messages`, { headers: { cookie } })).status, 200);
    const out = await fetch(`${herald.url}/v1/dashboard/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': body!.csrf_token } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /^herald_session=; Path=\/; Max-Age=0/);
    assert.equal((await fetch(`${herald.url}/v3/messages`, { headers: { cookie } })).status, 401);
    assert.equal((await fetch(`${herald.url}/v1/dashboard/session`, { method: 'DELETE' })).status, 204, 'signing out twice is harmless');
  });

  test('an expired session no longer authenticates', async () => {
    const { id } = await signIn();
    await herald.backend.dashboard.deleteExpiredSessions(Date.now() + herald.config.dashboardSessionTtlMs + 1);
    assert.equal((await fetch(`${herald.url}/v3/messages`, { headers: { cookie: `herald_session=${id}` } })).status, 401);
  });
});

describe('queue stats and scopes', () => {
  test("GET /v1/queue/stats answers the caller's queue and needs credentials", async () => {
    assert.equal((await fetch(`${herald.url}/v1/queue/stats`)).status, 401);
    assert.equal((await herald.api('/v1/queue/stats', { key: await herald.newKey(['mail.send']) })).status, 403);
    const stats = (await (await herald.api('/v1/queue/stats')).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(stats).sort(), ['in_progress', 'oldest_age_seconds', 'oldest_created_at', 'ready', 'scheduled', 'total']);
  });

  test('GET /v3/scopes lists what the caller holds', async () => {
    const key = await herald.newKey(['api_keys.read', 'mail.send']);
    assert.deepEqual(await (await herald.api('/v3/scopes', { key })).json(), { scopes: ['api_keys.read', 'mail.send'] });
    assert.equal((await fetch(`${herald.url}/v3/scopes`)).status, 401);
    assert.equal((await fetch(`${herald.url}/v3/scopes`, { headers: { authorization: 'Bearer SG.forged.key' } })).status, 401);
    assert.equal((await herald.api('/v3/scopes', { key: await herald.newKey(['mail.send']) })).status, 403);
  });
});

describe('static files', () => {
  test('the app and its assets have their types, caching and security headers', async () => {
    const bare = await fetch(`${herald.url}/dashboard`, { redirect: 'manual' });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/dashboard/');
    const index = await fetch(`${herald.url}/dashboard/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
    const html = await index.text();
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(herald.url + script);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const css = /href="(\/dashboard\/assets\/[^"]+\.css)"/.exec(html)![1]!;
    assert.equal((await fetch(herald.url + css)).headers.get('content-type'), 'text/css; charset=utf-8');
    const page = await fetch(`${herald.url}/dashboard/activity`);
    assert.equal(page.status, 200, "an app path serves the app");
  });

  test('missing assets and path traversal get 404', async () => {
    for (const path of ['/dashboard/assets/nope.js', '/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/..%5c..%5cpackage.json', '/dashboard/favicon.ico']) {
      const res = await fetch(herald.url + path);
      assert.equal(res.status, 404, path);
      assert.ok(!(await res.text()).includes('"name": "herald"'));
    }
  });
});

test('failed sign-ins lock the address and the client out, with Retry-After', async () => {
  const locked = await startTestHerald({ dashboardLoginMaxFailures: 2 });
  try {
    const account = (await locked.backend.accounts.findAccountByName('default'))!;
    const { addDashboardUser } = await import('../../src/dashboard/users.js');
    await addDashboardUser(locked.backend.dashboard, account.id, ALICE, PASSWORD);
    const attempt = (password: string) => fetch(`${locked.url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: ALICE, password }) });
    assert.equal((await attempt('guess one')).status, 401);
    assert.equal((await attempt('guess two')).status, 401);
    const refused = await attempt(PASSWORD);
    assert.equal(refused.status, 429, 'even the right password waits out the lockout');
    assert.equal(await code(refused), 'HERALD_ERR_TOO_MANY_SIGN_INS');
    const retry = Number(refused.headers.get('retry-after'));
    assert.ok(retry > 0 && retry <= 15 * 60, `Retry-After ${retry}`);
    // One client guessing across addresses: locked out after four times the per-address limit.
    const guess = (email: string) => fetch(`${locked.url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'guess' }) });
    for (let i = 0; i < 6; i++) assert.equal((await guess(`user${i}@example.com`)).status, 401);
    assert.equal((await guess('someone-else@example.com')).status, 429);
  } finally {
    await locked.close();
  }
});
