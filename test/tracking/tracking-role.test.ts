import { defaultConfig } from '../../src/config/settings.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald } from '../support/test-herald.js';

test('the default process takes the tracking role and serves the tracking endpoints', async (t) => {
  const h = await startTestHerald();
  t.after(() => h.close());
  const health = (await (await fetch(`${h.url}/healthz`)).json()) as { roles: string[] };
  assert.deepEqual(health.roles, defaultConfig().roles.split(','));
  assert.ok(health.roles.includes('tracking'));
  const res = await fetch(`${h.url}/o/${'A'.repeat(40)}`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('x-herald-error'), 'HERALD_ERR_INVALID_LINK');
});

test('a tracking-only process serves links but not the API; an api-only process serves no links', async (t) => {
  const tracking = await startTestHerald({ roles: 'tracking' });
  t.after(() => tracking.close());
  const link = await fetch(`${tracking.url}/c/${'A'.repeat(40)}`, { redirect: 'manual' });
  assert.equal(link.headers.get('x-herald-error'), 'HERALD_ERR_INVALID_LINK');
  await link.arrayBuffer();
  const api = await tracking.api('/v3/tracking_settings/open');
  assert.equal(((await api.json()) as { errors: { code: string }[] }).errors[0]!.code, 'HERALD_ERR_NOT_FOUND');

  const apiOnly = await startTestHerald({ roles: 'api' });
  t.after(() => apiOnly.close());
  const none = await fetch(`${apiOnly.url}/c/${'A'.repeat(40)}`, { redirect: 'manual' });
  assert.equal(none.status, 404);
  assert.equal(none.headers.get('x-herald-error'), null);
  assert.equal(((await none.json()) as { errors: { code: string }[] }).errors[0]!.code, 'HERALD_ERR_NOT_FOUND');
  assert.equal((await apiOnly.api('/v3/tracking_settings/open')).status, 200);
});

test('a trackingBaseUrl that is not an http(s) URL stops start-up', async () => {
  await assert.rejects(startTestHerald({ trackingBaseUrl: 'ftp://t.example.com' }), /trackingBaseUrl/);
});
