import { defaultConfig } from '../../src/config/settings.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mailBody, startTestHerald, tempDataDir } from '../support/test-herald.js';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

test('an api-only process accepts mail and leaves it queued for delivery processes', async (t) => {
  const herald = await startTestHerald({ roles: 'api' });
  t.after(() => herald.close());
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody() });
  assert.equal(res.status, 202);
  await new Promise((r) => setTimeout(r, 300)); // several poll intervals: a worker would have claimed it
  const depth = await herald.backend.queue.depth();
  assert.deepEqual([depth.ready, depth.leased], [1, 0]);
  const health = (await (await fetch(`${herald.url}/healthz`)).json()) as { roles: string[] };
  assert.deepEqual(health.roles, ['api']);
});

test('a delivery-only process serves health but no API, and delivers what is queued', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const api = await startTestHerald({ roles: 'api' }, { dataDir, keepDataDir: true });
  assert.equal((await api.api('/v3/mail/send', { method: 'POST', json: mailBody() })).status, 202);
  await api.close();

  const worker = await startTestHerald({ roles: 'delivery' }, { dataDir, keepDataDir: true });
  t.after(() => worker.close());
  const refused = await worker.api('/v3/mail/send', { method: 'POST', json: mailBody() });
  assert.equal(refused.status, 404);
  assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0]!.code, 'HERALD_ERR_NOT_FOUND');
  assert.equal((await fetch(`${worker.url}/readyz`)).status, 200);
  const deadline = Date.now() + 15_000;
  while ((await worker.backend.queue.depth()).ready + (await worker.backend.queue.depth()).leased > 0) {
    if (Date.now() > deadline) assert.fail('the delivery process never delivered the queued message');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await worker.backend.inbox.list((await worker.backend.accounts.findAccountByName('default'))!.id, { limit: 10 })).length, 1);
});

test('an unknown role stops start-up with a message naming the setting', async () => {
  await assert.rejects(startTestHerald({ roles: 'api,mailer' as string }), /roles .* must be roles from api, delivery/);
});

test('the relay role without natsUrl stops start-up with a message naming the setting', async () => {
  await assert.rejects(startTestHerald({ roles: 'api,relay' }), /the relay role copies events into NATS JetStream: set natsUrl/);
});

test('the default process sends Event Webhooks; one without the webhooks role leaves them in the outbox', async (t) => {
  const byDefault = await startTestHerald();
  t.after(() => byDefault.close());
  const health = (await (await fetch(`${byDefault.url}/healthz`)).json()) as { roles: string[] };
  assert.deepEqual(health.roles, defaultConfig().roles.split(','));
  assert.ok(health.roles.includes('webhooks'));
  assert.ok(byDefault.webhooks);

  const withoutWebhooks = await startTestHerald({ roles: 'api,delivery', webhookAllowPrivateTargets: true, webhookBatchWaitMs: 0, webhookPollMs: 20 });
  t.after(() => withoutWebhooks.close());
  assert.equal(withoutWebhooks.webhooks, null);
  let posts = 0;
  const receiver = createServer((_req, res) => {
    posts++;
    res.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  assert.equal((await withoutWebhooks.api('/v3/user/webhooks/event/settings', { method: 'PATCH', json: { enabled: true, url, processed: true } })).status, 200);
  assert.equal((await withoutWebhooks.api('/v3/mail/send', { method: 'POST', json: mailBody() })).status, 202);
  await new Promise((r) => setTimeout(r, 300)); // many poll intervals: a dispatcher would have sent it
  assert.equal(posts, 0);
});
