import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sendgrid from '@sendgrid/eventwebhook';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { startReceiver, type Receiver } from './support.js';

const SETTINGS = '/v3/user/webhooks/event/settings';
type Json = Record<string, unknown>;
const errorOf = async (res: Response): Promise<{ code: string; field: string | null; message: string }> => ((await res.json()) as { errors: { code: string; field: string | null; message: string }[] }).errors[0]!;

describe('Event Webhook API', () => {
  let herald: TestHerald;
  let receiver: Receiver;
  before(async () => {
    herald = await startTestHerald({ webhookAllowPrivateTargets: true, webhookBatchWaitMs: 0, webhookPollMs: 20 });
    receiver = await startReceiver();
  });
  after(async () => {
    await herald.close();
    await receiver.close();
  });

  test('the legacy settings: everything off until set, then the account\'s first webhook', async () => {
    const { apiKey } = await herald.newAccount('legacy');
    const off = await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, json: { enabled: false } });
    assert.equal(off.status, 200, 'turning off what does not exist is no error');
    const empty = (await (await herald.api(SETTINGS, { key: apiKey })).json()) as Json;
    assert.equal(empty.enabled, false);
    assert.equal(empty.url, '');
    assert.equal(empty.bounce, false);
    const set = await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, json: { enabled: true, url: receiver.url, delivered: true, bounce: true } });
    assert.equal(set.status, 200);
    const made = (await set.json()) as Json;
    assert.deepEqual([made.enabled, made.url, made.delivered, made.bounce, made.open, made.spam_report], [true, receiver.url, true, true, false, false]);
    const changed = (await (await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, json: { open: true, bounce: false } })).json()) as Json;
    assert.deepEqual([changed.id, changed.url, changed.delivered, changed.bounce, changed.open], [made.id, receiver.url, true, false, true]);
    const all = (await (await herald.api(`${SETTINGS}/all`, { key: apiKey })).json()) as { max_allowed: number; webhooks: Json[] };
    assert.equal(all.max_allowed, 5);
    assert.deepEqual(all.webhooks.map((w) => w.id), [made.id]);
    assert.deepEqual((await (await herald.api(SETTINGS, { key: apiKey })).json()) as Json, changed);
  });

  test('several webhooks: create, read, update, delete, and at most five', async () => {
    const { apiKey } = await herald.newAccount('multi');
    const created = await herald.api(SETTINGS, { method: 'POST', key: apiKey, json: { url: receiver.url, processed: true, friendly_name: 'audit' } });
    assert.equal(created.status, 201);
    const hook = (await created.json()) as Json;
    assert.deepEqual([hook.enabled, hook.processed, hook.friendly_name], [true, true, 'audit']);
    assert.equal(typeof hook.created_date, 'string');
    const read = (await (await herald.api(`${SETTINGS}/${hook.id}`, { key: apiKey })).json()) as Json;
    assert.deepEqual(read, hook);
    const patched = (await (await herald.api(`${SETTINGS}/${hook.id}`, { method: 'PATCH', key: apiKey, json: { enabled: false, click: true } })).json()) as Json;
    assert.deepEqual([patched.enabled, patched.processed, patched.click], [false, true, true]);
    for (let i = 0; i < 4; i++) assert.equal((await herald.api(SETTINGS, { method: 'POST', key: apiKey, json: { url: receiver.url } })).status, 201);
    const sixth = await herald.api(SETTINGS, { method: 'POST', key: apiKey, json: { url: receiver.url } });
    assert.equal(sixth.status, 400);
    assert.equal((await errorOf(sixth)).code, 'HERALD_ERR_WEBHOOK_LIMIT');
    assert.equal((await herald.api(`${SETTINGS}/${hook.id}`, { method: 'DELETE', key: apiKey })).status, 204);
    assert.equal((await herald.api(`${SETTINGS}/${hook.id}`, { key: apiKey })).status, 404);
  });

  test('signing on makes a P-256 key and shows its public half only; off removes it', async () => {
    const { apiKey } = await herald.newAccount('signing');
    assert.equal((await herald.api(`${SETTINGS}/signed`, { key: apiKey })).status, 404);
    await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, json: { enabled: true, url: receiver.url, processed: true } });
    const on = await herald.api(`${SETTINGS}/signed`, { method: 'PATCH', key: apiKey, json: { enabled: true } });
    const signed = (await on.json()) as { id: string; public_key: string };
    assert.equal(on.status, 200);
    assert.match(signed.public_key, /^MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/);
    assert.deepEqual(await (await herald.api(`${SETTINGS}/signed/${signed.id}`, { key: apiKey })).json(), signed);
    const settings = await (await herald.api(SETTINGS, { key: apiKey })).text();
    assert.ok(settings.includes(signed.public_key));
    assert.ok(!/PRIVATE|BEGIN/.test(settings));
    // Enabling again keeps the key customers already verify with.
    assert.deepEqual(await (await herald.api(`${SETTINGS}/signed/${signed.id}`, { method: 'PATCH', key: apiKey, json: { enabled: true } })).json(), signed);
    const off = (await (await herald.api(`${SETTINGS}/signed/${signed.id}`, { method: 'PATCH', key: apiKey, json: { enabled: false } })).json()) as Json;
    assert.deepEqual(off, { id: signed.id, public_key: '' });
  });

  test('mail sent reaches a signed webhook with its categories and custom args; SendGrid\'s library verifies it', async () => {
    const hookReceiver = await startReceiver();
    try {
      const { apiKey } = await herald.newAccount('e2e');
      await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, json: { enabled: true, url: hookReceiver.url, processed: true, delivered: true } });
      const { public_key: publicKey, id } = (await (await herald.api(`${SETTINGS}/signed`, { method: 'PATCH', key: apiKey, json: { enabled: true } })).json()) as { public_key: string; id: string };
      const sent = await herald.api('/v3/mail/send', { method: 'POST', key: apiKey, json: mailBody({ categories: ['receipts'], custom_args: { order: 'A-17' } }) });
      assert.equal(sent.status, 202);
      await eventually(async () => hookReceiver.events().some((e) => e.event === 'delivered'), 15_000, 'the delivered event at the webhook');
      const verifier = new sendgrid.EventWebhook();
      const key = verifier.convertPublicKeyToECDSA(publicKey);
      for (const r of hookReceiver.received) {
        assert.equal(verifier.verifySignature(key, r.raw, r.headers['x-twilio-email-event-webhook-signature'] as string, r.headers['x-twilio-email-event-webhook-timestamp'] as string), true);
      }
      const events = hookReceiver.events();
      assert.deepEqual(events.map((e) => e.event), ['processed', 'delivered']);
      for (const e of events) {
        assert.deepEqual(e.category, ['receipts']);
        assert.equal(e.order, 'A-17');
        assert.equal(e.email, 'rcpt@example.com');
        assert.equal(typeof e.sg_event_id, 'string');
      }
      const log = await eventually(async () => {
        const body = (await (await herald.api(`/v1/webhooks/${id}/deliveries`, { key: apiKey })).json()) as { deliveries: Json[] };
        return body.deliveries.length > 0 ? body.deliveries : null;
      });
      assert.equal(log[0]!.outcome, 'delivered');
      assert.equal(log[0]!.status, 200);
    } finally {
      await hookReceiver.close();
    }
  });

  test('another account\'s key neither sees nor changes a webhook', async () => {
    const owner = await herald.newAccount('owner');
    const intruder = await herald.newAccount('intruder');
    const hook = (await (await herald.api(SETTINGS, { method: 'POST', key: owner.apiKey, json: { url: receiver.url, processed: true } })).json()) as Json;
    const path = `${SETTINGS}/${hook.id}`;
    assert.equal((await herald.api(path, { key: intruder.apiKey })).status, 404);
    assert.equal((await herald.api(path, { method: 'PATCH', key: intruder.apiKey, json: { url: 'http://127.0.0.1:1/steal' } })).status, 404);
    assert.equal((await herald.api(path, { method: 'DELETE', key: intruder.apiKey })).status, 404);
    assert.equal((await herald.api(`${SETTINGS}/signed/${hook.id}`, { key: intruder.apiKey })).status, 404);
    assert.equal((await herald.api(`${SETTINGS}/signed/${hook.id}`, { method: 'PATCH', key: intruder.apiKey, json: { enabled: true } })).status, 404);
    assert.equal((await herald.api(`/v1/webhooks/${hook.id}/deliveries`, { key: intruder.apiKey })).status, 404);
    assert.deepEqual(((await (await herald.api(`${SETTINGS}/all`, { key: intruder.apiKey })).json()) as { webhooks: Json[] }).webhooks, []);
    assert.equal(((await (await herald.api(SETTINGS, { key: intruder.apiKey })).json()) as Json).url, '');
    assert.deepEqual(await (await herald.api(path, { key: owner.apiKey })).json(), hook);
  });

  test('keys without the webhook scopes are refused; no key is 401', async () => {
    const readOnly = await herald.newKey(['user.webhooks.event.settings.read']);
    assert.equal((await herald.api(SETTINGS, { key: readOnly })).status, 200);
    const refused = await herald.api(SETTINGS, { method: 'PATCH', key: readOnly, json: { enabled: false } });
    assert.equal(refused.status, 403);
    assert.match((await errorOf(refused)).message, /user\.webhooks\.event\.settings\.update/);
    assert.equal((await herald.api('/v3/user/webhooks/event/test', { method: 'POST', key: readOnly, json: { url: receiver.url } })).status, 403);
    assert.equal((await herald.api(SETTINGS, { key: null })).status, 401);
    const mailOnly = await herald.newKey(['mail.send']);
    assert.equal((await herald.api(`${SETTINGS}/all`, { key: mailOnly })).status, 403);
  });

  test('bad input gets a precise 400 or 413', async () => {
    const { apiKey } = await herald.newAccount('bad-input');
    const cases: [unknown, string, string | null][] = [
      [{ url: receiver.url, spamreport: true }, 'HERALD_ERR_INVALID_FIELD', 'spamreport'],
      [{ url: receiver.url, bounce: 'yes' }, 'HERALD_ERR_INVALID_FIELD', 'bounce'],
      [{ url: receiver.url, enabled: 1 }, 'HERALD_ERR_INVALID_FIELD', 'enabled'],
      [{ url: 42 }, 'HERALD_ERR_INVALID_FIELD', 'url'],
      [{ url: 'not a url' }, 'HERALD_ERR_WEBHOOK_TARGET_REFUSED', 'url'],
      [{ url: 'ftp://hooks.example.com/in' }, 'HERALD_ERR_WEBHOOK_TARGET_REFUSED', 'url'],
      [{ url: `https://hooks.example.com/${'x'.repeat(3000)}` }, 'HERALD_ERR_WEBHOOK_TARGET_REFUSED', 'url'],
      [{ url: receiver.url, friendly_name: 'n'.repeat(101) }, 'HERALD_ERR_INVALID_FIELD', 'friendly_name'],
      [{ url: receiver.url, oauth_client_id: 'abc' }, 'HERALD_ERR_INVALID_FIELD', 'oauth_client_id'],
      [{ processed: true }, 'HERALD_ERR_MISSING_FIELD', 'url'],
      [[{ url: receiver.url }], 'HERALD_ERR_BAD_JSON', null],
    ];
    for (const [body, code, field] of cases) {
      const res = await herald.api(SETTINGS, { method: 'POST', key: apiKey, json: body });
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      const error = await errorOf(res);
      assert.deepEqual([error.code, error.field], [code, field], JSON.stringify(body).slice(0, 80));
    }
    const malformed = await herald.api(SETTINGS, { method: 'PATCH', key: apiKey, body: '{"enabled": tru', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.status, 400);
    assert.equal((await errorOf(malformed)).code, 'HERALD_ERR_BAD_JSON');
    const huge = await herald.api(SETTINGS, { method: 'POST', key: apiKey, json: { url: receiver.url, friendly_name: 'x'.repeat(20_000) } });
    assert.equal(huge.status, 413);
    const toggle = await herald.api(`${SETTINGS}/signed`, { method: 'PATCH', key: apiKey, json: {} });
    assert.equal((await errorOf(toggle)).code, 'HERALD_ERR_MISSING_FIELD');
    assert.equal((await herald.api(`${SETTINGS}/${'z'.repeat(80)}`, { key: apiKey })).status, 404);
    assert.equal((await herald.api('/v1/webhooks/nope/deliveries?limit=abc', { key: apiKey })).status, 400);
    assert.deepEqual(((await (await herald.api(`${SETTINGS}/all`, { key: apiKey })).json()) as { webhooks: Json[] }).webhooks, [], 'nothing was created');
  });

  test('the test endpoint posts a sample event and says when the URL does not accept it', async () => {
    const down = await startReceiver((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    try {
      const before = receiver.received.length;
      const ok = await herald.api('/v3/user/webhooks/event/test', { method: 'POST', json: { url: receiver.url } });
      assert.equal(ok.status, 204);
      assert.equal(receiver.received.length, before + 1);
      assert.equal(receiver.received[before]!.events[0]!.event, 'processed');
      const failed = await herald.api('/v3/user/webhooks/event/test', { method: 'POST', json: { url: down.url } });
      assert.equal(failed.status, 400);
      const error = await errorOf(failed);
      assert.equal(error.code, 'HERALD_ERR_WEBHOOK_TEST_FAILED');
      assert.match(error.message, /HTTP 500/);
      assert.equal((await errorOf(await herald.api('/v3/user/webhooks/event/test', { method: 'POST', json: {} }))).code, 'HERALD_ERR_MISSING_FIELD');
      // Naming a signed webhook signs the sample with its key; another account's webhook is not found.
      const hook = (await (await herald.api(SETTINGS, { method: 'POST', json: { url: receiver.url, processed: true } })).json()) as { id: string };
      const { public_key: publicKey } = (await (await herald.api(`${SETTINGS}/signed/${hook.id}`, { method: 'PATCH', json: { enabled: true } })).json()) as { public_key: string };
      assert.equal((await herald.api('/v3/user/webhooks/event/test', { method: 'POST', json: { url: receiver.url, id: hook.id } })).status, 204);
      const signed = receiver.received[receiver.received.length - 1]!;
      const verifier = new sendgrid.EventWebhook();
      assert.equal(verifier.verifySignature(verifier.convertPublicKeyToECDSA(publicKey), signed.raw, signed.headers['x-twilio-email-event-webhook-signature'] as string, signed.headers['x-twilio-email-event-webhook-timestamp'] as string), true);
      const stranger = await herald.newAccount('test-stranger');
      assert.equal((await herald.api('/v3/user/webhooks/event/test', { method: 'POST', key: stranger.apiKey, json: { url: receiver.url, id: hook.id } })).status, 404);
    } finally {
      await down.close();
    }
  });
});

describe('Event Webhook URLs are checked against server-side request forgery', () => {
  let herald: TestHerald;
  before(async () => {
    herald = await startTestHerald();
  });
  after(() => herald.close());

  test('private, loopback, link-local and mapped addresses, and names resolving to them, are refused on save and on test', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://10.0.0.5/hook', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/hook', 'http://[::ffff:127.0.0.1]/hook', 'http://localhost:3000/hook', 'http://100.64.0.1/', 'http://[fd00::1]/']) {
      for (const [method, path] of [['POST', SETTINGS], ['PATCH', SETTINGS], ['POST', '/v3/user/webhooks/event/test']] as const) {
        const res = await herald.api(path, { method, json: path === SETTINGS ? { url, enabled: true } : { url } });
        assert.equal(res.status, 400, `${method} ${path} ${url}`);
        const error = await errorOf(res);
        assert.deepEqual([error.code, error.field], ['HERALD_ERR_WEBHOOK_TARGET_REFUSED', 'url'], url);
      }
    }
    assert.deepEqual(((await (await herald.api(`${SETTINGS}/all`)).json()) as { webhooks: Json[] }).webhooks, []);
  });
});
