import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald();
});
after(async () => {
  await h.close();
});

test('open, click and subscription settings read and change in SendGrid’s shapes', async () => {
  const { apiKey } = await h.newAccount('settings-co');
  const get = async (kind: string) => (await (await h.api(`/v3/tracking_settings/${kind}`, { key: apiKey })).json()) as Record<string, unknown>;
  assert.deepEqual(await get('open'), { enabled: false });
  assert.deepEqual(await get('click'), { enable_text: false, enabled: false });
  const sub = await get('subscription');
  assert.deepEqual(Object.keys(sub).sort(), ['enabled', 'html_content', 'landing', 'plain_content', 'replace', 'url']);
  assert.equal(sub.enabled, false);

  const patched = await h.api('/v3/tracking_settings/click', { method: 'PATCH', json: { enabled: true }, key: apiKey });
  assert.equal(patched.status, 200);
  assert.deepEqual(await patched.json(), { enable_text: false, enabled: true });
  const s = await h.api('/v3/tracking_settings/subscription', { method: 'PATCH', json: { enabled: true, url: 'https://example.com/prefs', replace: '[unsub]', html_content: '<p><% Leave %></p>' }, key: apiKey });
  assert.equal(s.status, 200);
  assert.deepEqual(await s.json(), { ...sub, enabled: true, url: 'https://example.com/prefs', replace: '[unsub]', html_content: '<p><% Leave %></p>' });
  const list = (await (await h.api('/v3/tracking_settings', { key: apiKey })).json()) as { result: { name: string; enabled: boolean }[] };
  assert.deepEqual(list.result.map((r) => [r.name, r.enabled]), [['click', true], ['open', false], ['subscription', true]]);
});

test('another account’s key sees and changes only its own settings', async () => {
  const a = await h.newAccount('tenant-a');
  const b = await h.newAccount('tenant-b');
  assert.equal((await h.api('/v3/tracking_settings/open', { method: 'PATCH', json: { enabled: true }, key: a.apiKey })).status, 200);
  assert.deepEqual(await (await h.api('/v3/tracking_settings/open', { key: b.apiKey })).json(), { enabled: false });
  assert.equal((await h.api('/v3/tracking_settings/open', { method: 'PATCH', json: { enabled: false }, key: b.apiKey })).status, 200);
  assert.deepEqual(await (await h.api('/v3/tracking_settings/open', { key: a.apiKey })).json(), { enabled: true });
  assert.equal((await h.backend.trackingSettings.get(a.accountId)).open.enabled, true);
});

test('the settings endpoints need a key with the tracking_settings scopes', async () => {
  assert.equal((await h.api('/v3/tracking_settings/open', { key: null })).status, 401);
  const readOnly = await h.newKey(['tracking_settings.read']);
  assert.equal((await h.api('/v3/tracking_settings/open', { key: readOnly })).status, 200);
  assert.equal((await h.api('/v3/tracking_settings/open', { method: 'PATCH', json: { enabled: true }, key: readOnly })).status, 403);
  const other = await h.newKey(['mail.send']);
  assert.equal((await h.api('/v3/tracking_settings/click', { key: other })).status, 403);
});

test('bad settings are refused with the field named, and change nothing', async () => {
  const { apiKey, accountId } = await h.newAccount('bad-input-co');
  const cases: [string, unknown, string | null, number][] = [
    ['open', { enabled: 'yes' }, 'enabled', 400],
    ['open', { enabled: true, extra: 1 }, 'extra', 400],
    ['open', {}, null, 400],
    ['open', [], null, 400],
    ['click', { enable_text: 1 }, 'enable_text', 400],
    ['subscription', { url: 'javascript:alert(1)' }, 'url', 400],
    ['subscription', { url: 'ftp://example.com/' }, 'url', 400],
    ['subscription', { replace: 'a\r\nb' }, 'replace', 400],
    ['subscription', { html_content: 'x'.repeat(10_001) }, 'html_content', 400],
    ['subscription', { landing: 7 }, 'landing', 400],
  ];
  for (const [kind, body, field, code] of cases) {
    const res = await h.api(`/v3/tracking_settings/${kind}`, { method: 'PATCH', json: body, key: apiKey });
    const text = await res.text();
    assert.equal(res.status, code, `${kind} ${JSON.stringify(body)}: ${text}`);
    assert.equal((JSON.parse(text) as { errors: { field: string | null }[] }).errors[0]!.field, field, text);
  }
  const raw = await h.api('/v3/tracking_settings/open', { method: 'PATCH', body: '{"enabled":', headers: { 'content-type': 'application/json' }, key: apiKey });
  assert.equal(raw.status, 400);
  const poisoned = await h.api('/v3/tracking_settings/open', { method: 'PATCH', body: '{"__proto__":{"enabled":true}}', headers: { 'content-type': 'application/json' }, key: apiKey });
  assert.equal(poisoned.status, 400);
  const empty = await h.api('/v3/tracking_settings/open', { method: 'PATCH', key: apiKey });
  assert.equal(empty.status, 400);
  const form = await h.api('/v3/tracking_settings/open', { method: 'PATCH', body: 'enabled=true', headers: { 'content-type': 'application/x-www-form-urlencoded' }, key: apiKey });
  assert.equal(form.status, 415, 'the JSON API takes no forms');
  assert.equal((await h.api('/v3/tracking_settings/nope', { key: apiKey })).status, 404);
  const s = await h.backend.trackingSettings.get(accountId);
  assert.equal(s.open.enabled || s.click.enabled || s.subscription.enabled, false);
});

test('mail/send refuses malformed tracking_settings with precise fields', async () => {
  const cases: [unknown, string][] = [
    ['yes', 'tracking_settings'],
    [{ click_tracking: true }, 'tracking_settings.click_tracking'],
    [{ click_tracking: { enable: 'true' } }, 'tracking_settings.click_tracking.enable'],
    [{ click_tracking: { enable: true, enable_text: 0 } }, 'tracking_settings.click_tracking.enable_text'],
    [{ open_tracking: { enable: true, substitution_tag: 5 } }, 'tracking_settings.open_tracking.substitution_tag'],
    [{ open_tracking: { substitution_tag: 'a\nb' } }, 'tracking_settings.open_tracking.substitution_tag'],
    [{ subscription_tracking: { enable: true, html: '' } }, 'tracking_settings.subscription_tracking.html'],
    [{ subscription_tracking: { text: 'x'.repeat(10_001) } }, 'tracking_settings.subscription_tracking.text'],
    [{ subscription_tracking: { bogus: 1 } }, 'tracking_settings.subscription_tracking.bogus'],
    [{ clicks: {} }, 'tracking_settings.clicks'],
    [{ ganalytics: 3 }, 'tracking_settings.ganalytics'],
  ];
  for (const [settings, field] of cases) {
    const res = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ tracking_settings: settings }) });
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.equal((JSON.parse(text) as { errors: { field: string }[] }).errors[0]!.field, field, text);
  }
  const ok = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ tracking_settings: { ganalytics: { enable: true }, click_tracking: { enable: false } } }) });
  assert.equal(ok.status, 202);
});
