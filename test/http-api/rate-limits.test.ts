import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBody, startTestHerald } from '../support/test-herald.js';

const to = (n: number) => mailBody({ personalizations: Array.from({ length: n }, (_, i) => ({ to: [{ email: `r${i}@example.com` }] })) });

test('past its requests per minute an account gets 429 with Retry-After, X-RateLimit-* and SendGrid\'s error shape; another account is untouched', async (t) => {
  const herald = await startTestHerald({ roles: 'api', accountRequestsPerMinute: 3 });
  t.after(() => herald.close());
  const other = await herald.newAccount('globex');
  // The window is a UTC minute: start well inside one, so the four requests share it.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_500 - intoMinute));
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await herald.api('/v3/templates'));
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
  assert.deepEqual(answers.map((r) => r.headers.get('x-ratelimit-remaining')), ['2', '1', '0']);
  for (const r of answers) {
    assert.equal(r.headers.get('x-ratelimit-limit'), '3');
    const reset = Number(r.headers.get('x-ratelimit-reset'));
    assert.ok(reset * 1000 > Date.now() - 1000 && reset * 1000 <= Date.now() + 61_000, 'reset in epoch seconds within the minute');
    assert.equal(r.headers.get('retry-after'), null);
  }
  const refused = await herald.api('/v3/mail/send', { method: 'POST', json: to(1) });
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
  const body = (await refused.json()) as { errors: { field: null; message: string; code: string }[] };
  assert.equal(body.errors[0]!.field, null);
  assert.match(body.errors[0]!.message, /^too many requests/);
  assert.equal(body.errors[0]!.code, 'HERALD_ERR_RATE_LIMITED');
  assert.equal((await herald.backend.queue.depth()).ready, 0, 'nothing of a refused send is queued');
  // Another account's window is its own.
  const theirs = await herald.api('/v3/templates', { key: other.apiKey });
  assert.equal(theirs.status, 200);
  assert.equal(theirs.headers.get('x-ratelimit-remaining'), '2');
  // A request without a valid key is not counted against anyone.
  assert.equal((await herald.api('/v3/templates', { key: 'SG.nope' })).status, 401);
});

test('the daily quota counts recipients at accept, refuses a send whole past it, and is per account', async (t) => {
  const herald = await startTestHerald({ roles: 'api', accountMessagesPerDay: 5 });
  t.after(() => herald.close());
  const other = await herald.newAccount('globex');
  const first = await herald.api('/v3/mail/send', { method: 'POST', json: to(3) });
  assert.equal(first.status, 202);
  assert.equal(first.headers.get('x-ratelimit-limit'), '5');
  assert.equal(first.headers.get('x-ratelimit-remaining'), '2');
  const midnight = Math.ceil(Date.now() / 86_400_000) * 86_400;
  assert.equal(Number(first.headers.get('x-ratelimit-reset')), midnight);
  const tooMany = await herald.api('/v3/mail/send', { method: 'POST', json: to(3) });
  assert.equal(tooMany.status, 429);
  assert.ok(Number(tooMany.headers.get('retry-after')) >= 1);
  assert.equal(tooMany.headers.get('x-ratelimit-remaining'), '2');
  const body = (await tooMany.json()) as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]!.code, 'HERALD_ERR_DAILY_QUOTA');
  assert.match(body.errors[0]!.message, /has 2 left; this request has 3/);
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: to(2) })).status, 202, 'what fits is still accepted');
  // sandbox_mode sends nothing and counts nothing.
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: { ...to(1), mail_settings: { sandbox_mode: { enable: true } } } })).status, 200);
  // The other account's quota is whole.
  const theirs = await herald.api('/v3/mail/send', { method: 'POST', json: to(5), key: other.apiKey });
  assert.equal(theirs.status, 202);
  assert.equal(theirs.headers.get('x-ratelimit-remaining'), '0');
  const d = await herald.backend.queue.depth();
  assert.equal(d.ready + d.scheduled + d.leased, 10);
});

test("an account's own limits replace the settings' and apply without a restart", async (t) => {
  const herald = await startTestHerald({ roles: 'api', accountMessagesPerDay: 1 });
  t.after(() => herald.close());
  const other = await herald.newAccount('globex');
  await herald.backend.limits.set(other.accountId, { requestsPerMinute: null, messagesPerDay: 0 });
  const unlimited = await herald.api('/v3/mail/send', { method: 'POST', json: to(4), key: other.apiKey });
  assert.equal(unlimited.status, 202, '0 is unlimited');
  assert.equal(unlimited.headers.get('x-ratelimit-limit'), null, 'no limit, no headers');
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: to(2) })).status, 429, 'the default account keeps the setting');
});

test('X-Request-Id: a sane one is echoed, anything else replaced by a fresh id', async (t) => {
  const herald = await startTestHerald({ roles: 'api' });
  t.after(() => herald.close());
  const given = await herald.api('/healthz', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(given.headers.get('x-request-id'), 'trace-42');
  for (const bad of ['x'.repeat(500), 'two words', '']) {
    const r = await herald.api('/healthz', { headers: { 'x-request-id': bad } });
    assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  }
  const a = (await herald.api('/healthz')).headers.get('x-request-id');
  const b = (await herald.api('/healthz')).headers.get('x-request-id');
  assert.notEqual(a, b);
});
