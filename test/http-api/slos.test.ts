import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, mailBody, startTestHerald, tempDataDir } from '../support/test-herald.js';
import { promtoolCheck } from '../support/promtool.js';

interface SloJson {
  name: string;
  objective: number;
  window: string;
  sli: { kind: string; threshold_ms?: number };
  totals: { good: number; bad: number; total: number };
  error_budget_remaining: number;
  burn_rates: Record<string, number>;
  alerts: { severity: string; since: string; reason: string }[];
}

test('GET /v1/slos shows each SLO with its counts, budget, burn rates and alerts, counted from real traffic', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: mailBody() })).status, 202);
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: { personalizations: [] } })).status, 400);
  await herald.slo.recorder.flush();

  const res = await herald.api('/v1/slos');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { slos: SloJson[]; alert_verification_key: string };
  assert.deepEqual(body.slos.map((s) => [s.name, s.objective, s.window, s.sli.kind, s.sli.threshold_ms]), [
    ['api-availability', 0.9995, '30d', 'availability', undefined],
    ['accept-latency', 0.999, '30d', 'accept-latency', 100],
    ['time-to-deliver', 0.99, '30d', 'time-to-deliver', 60_000],
  ]);
  const availability = body.slos[0]!;
  assert.deepEqual(availability.totals, { good: 2, bad: 0, total: 2 }, 'a 400 is the caller\'s error, not Herald\'s');
  assert.equal(availability.error_budget_remaining, 1);
  assert.deepEqual(Object.keys(availability.burn_rates), ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']);
  assert.deepEqual(availability.alerts, []);
  assert.equal(body.slos[1]!.totals.total, 1, 'only the accepted send counts for accept latency');
  assert.match(body.alert_verification_key, /^[A-Za-z0-9+/]+=*$/);

  // The delivery, through the metered queue, counts in the bucket of its deadline.
  await eventually(async () => {
    await herald.slo.recorder.flush();
    const [sums] = await herald.backend.slos.sums('time-to-deliver', [0], Date.now() + 3_600_000);
    return sums!.good === 1 && sums!.total === 1;
  }, 15_000, 'the delivery counted as in time');

  // An alert firing in the store (from any process) shows on its SLO.
  await herald.backend.slos.openAlert({ slo: 'time-to-deliver', severity: 'ticket', since: Date.UTC(2026, 0, 1), reason: 'burn rate 3.5 over 1d and 4.0 over 2h (threshold 3)' });
  const one = (await (await herald.api('/v1/slos/time-to-deliver')).json()) as SloJson;
  assert.deepEqual(one.alerts, [{ severity: 'ticket', since: '2026-01-01T00:00:00.000Z', reason: 'burn rate 3.5 over 1d and 4.0 over 2h (threshold 3)' }]);
});

test('GET /v1/slos needs a key with the operator scope slo.read, which full access does not grant; the numbers are instance-wide with no account data', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  assert.equal((await herald.api('/v1/slos', { key: null })).status, 401);
  assert.equal((await herald.api('/v1/slos', { key: 'SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' })).status, 401);
  assert.equal((await herald.api('/v1/slos', { headers: { authorization: 'Basic Zm9vOmJhcg==' } })).status, 401);
  const sender = await herald.newKey(['mail.send', 'messages.read']);
  const refused = await herald.api('/v1/slos', { key: sender });
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message, /slo\.read/);
  assert.equal((await herald.api('/v1/slos/api-availability', { key: sender })).status, 403);
  assert.equal((await herald.api('/v1/slos', { key: await herald.newKey(['slo.read']) })).status, 200);

  // A full-access key made for a tenant (no scopes named) does not hold the operator's scope, nor
  // can it grant it.
  const tenant = await herald.newAccount('initech');
  const minted = await herald.api('/v3/api_keys', { method: 'POST', key: tenant.apiKey, json: { name: 'full access' } });
  assert.equal(minted.status, 201);
  const full = (await minted.json()) as { api_key: string; scopes: string[] };
  assert.ok(full.scopes.includes('mail.send') && !full.scopes.includes('slo.read'));
  assert.equal((await herald.api('/v1/slos', { key: full.api_key })).status, 403);
  assert.equal((await herald.api('/v3/api_keys', { method: 'POST', key: full.api_key, json: { name: 'sneaky', scopes: ['slo.read'] } })).status, 403);
  const named = await herald.api('/v3/api_keys', { method: 'POST', json: { name: 'ops', scopes: ['slo.read'] } });
  assert.equal(named.status, 201, 'the operator\'s key grants it by name');
  assert.equal((await herald.api('/v1/slos', { key: ((await named.json()) as { api_key: string }).api_key })).status, 200);

  const other = await herald.newAccount('globex', ['slo.read']);
  const own = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: 'secret-recipient@acme.example' }] }] }) });
  assert.equal(own.status, 202);
  await herald.slo.recorder.flush();
  const seen = await herald.api('/v1/slos', { key: other.apiKey });
  assert.equal(seen.status, 200);
  const text = await seen.text();
  for (const secret of ['secret-recipient', own.headers.get('x-message-id')!, 'default']) assert.ok(!text.includes(secret), `${secret} leaked`);
});

test('bad input to /v1/slos gets a precise 4xx', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const errorOf = async (path: string, init?: Parameters<typeof herald.api>[1]) => {
    const res = await herald.api(path, init);
    const body = (await res.json()) as { errors: { field: string | null; code: string }[] };
    return [res.status, body.errors[0]!.field, body.errors[0]!.code];
  };
  assert.deepEqual(await errorOf('/v1/slos?window=1h'), [400, 'window', 'HERALD_ERR_INVALID_FIELD']);
  assert.deepEqual(await errorOf('/v1/slos/api-availability?x=1'), [400, 'x', 'HERALD_ERR_INVALID_FIELD']);
  assert.deepEqual(await errorOf('/v1/slos/API_Availability'), [400, 'name', 'HERALD_ERR_INVALID_FIELD']);
  assert.deepEqual(await errorOf(`/v1/slos/${'a'.repeat(64)}`), [400, 'name', 'HERALD_ERR_INVALID_FIELD']);
  assert.deepEqual(await errorOf('/v1/slos/%00%0d%0a'), [400, 'name', 'HERALD_ERR_INVALID_FIELD']);
  assert.deepEqual(await errorOf(`/v1/slos/${'%e2%80%ae'.repeat(10)}`), [400, 'name', 'HERALD_ERR_INVALID_FIELD']);
  // A long name is refused by the route; past the router's parameter length (4096) the router
  // answers 414 before any route runs.
  assert.equal((await herald.api(`/v1/slos/${'%e2%80%ae'.repeat(300)}`)).status, 400);
  assert.equal((await herald.api(`/v1/slos/${'a'.repeat(5000)}`)).status, 414);
  assert.deepEqual(await errorOf('/v1/slos/no-such-slo'), [404, 'name', 'HERALD_ERR_NOT_FOUND']);
  assert.deepEqual(await errorOf('/v1/slos', { method: 'POST', json: {} }), [404, null, 'HERALD_ERR_NOT_FOUND']);
  assert.deepEqual(await errorOf('/v1/slos', { method: 'DELETE' }), [404, null, 'HERALD_ERR_NOT_FOUND']);
  const ok = await herald.api('/v1/slos/api-availability');
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as SloJson).name, 'api-availability');
});

test('/metrics shows error budget and burn rate per SLO and window, and promtool accepts it', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: mailBody() })).status, 202);
  await herald.slo.recorder.flush();
  await herald.slo.evaluate();
  const text = await (await fetch(`${herald.url}/metrics`)).text();
  assert.match(text, /^herald_slo_objective_ratio\{slo="api-availability"\} 0\.9995$/m);
  assert.match(text, /^herald_slo_error_budget_remaining_ratio\{slo="api-availability"\} 1$/m);
  for (const window of ['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d']) assert.match(text, new RegExp(`^herald_slo_burn_rate\\{slo="accept-latency",window="${window}"\\} `, 'm'));
  assert.match(text, /^herald_slo_alert_firing\{slo="time-to-deliver",severity="page"\} 0$/m);
  assert.equal(text.match(/^herald_slo_burn_rate\{/gm)!.length, 3 * 8, 'labels stay bounded: SLOs × windows');
  const lint = await promtoolCheck(text);
  assert.equal(lint.code, 0, lint.output);
});

test('counts still in memory are written at shutdown and survive a restart', async (t) => {
  const dataDir = tempDataDir();
  const first = await startTestHerald({}, { dataDir, keepDataDir: true });
  assert.equal((await first.api('/v3/mail/send', { method: 'POST', json: { personalizations: [] } })).status, 400);
  assert.equal((await first.api('/v3/messages/nope')).status, 404);
  await first.close(); // never flushed before: stop writes what was counted
  const second = await startTestHerald({}, { dataDir });
  t.after(() => second.close());
  const body = (await (await second.api('/v1/slos/api-availability')).json()) as SloJson;
  assert.deepEqual(body.totals, { good: 2, bad: 0, total: 2 });
});
