import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, mailBody, startTestHerald } from '../support/test-herald.js';
import { promtoolCheck } from '../support/promtool.js';

test('/metrics counts requests, outcomes and latency with bounded labels, and promtool accepts it', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const to = ['ann@gmail.com', 'bob@example.org', 'cy@Outlook.com'];
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: to.map((email) => ({ to: [{ email }] })) }) });
  assert.equal(res.status, 202);
  const msgId = res.headers.get('x-message-id')!;
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: { personalizations: [] } })).status, 400);

  const text = await eventually(async () => {
    const body = await (await fetch(`${herald.url}/metrics`)).text();
    return /herald_messages_total\{outcome="delivered",destination_class="other"\} 1/.test(body) && /outcome="delivered",destination_class="microsoft"\} 1/.test(body) ? body : null;
  }, 15_000, 'three deliveries counted');
  const res2 = await fetch(`${herald.url}/metrics`);
  assert.match(res2.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);

  assert.match(text, /herald_messages_total\{outcome="processed",destination_class="gmail"\} 1/);
  assert.match(text, /herald_messages_total\{outcome="delivered",destination_class="gmail"\} 1/);
  assert.match(text, /herald_http_requests_total\{route="\/v3\/mail\/send",method="POST",status="202"\} 1/);
  assert.match(text, /herald_http_requests_total\{route="\/v3\/mail\/send",method="POST",status="400"\} 1/);
  assert.match(text, /herald_accept_duration_seconds_count\{status_class="2xx"\} 1/);
  assert.match(text, /herald_accept_to_delivered_seconds_count\{destination_class="other"\} 1/);
  assert.match(text, /herald_smtp_replies_total\{class="2xx"\} 3/);
  // Three processed and three delivered events at least (the log holds only what happened here).
  const logged = Number(/^herald_event_log_events (\d+)$/m.exec(text)?.[1]);
  assert.ok(logged >= 6, `event log size ${logged}`);
  assert.match(text, /herald_queue_messages\{state="ready"\} 0/);
  assert.match(text, /herald_queue_oldest_age_seconds 0/);
  assert.match(text, /herald_config_version 0/);
  assert.match(text, /herald_process_cpu_seconds_total/);
  // Nothing per recipient, message or account.
  for (const secret of [...to, msgId, herald.apiKey]) assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `${secret} leaked into /metrics`);

  const lint = await promtoolCheck(text);
  assert.equal(lint.code, 0, lint.output);
});

test('a waiting destination shows in the per-destination gauges', async (t) => {
  const herald = await startTestHerald({ roles: 'api' });
  t.after(() => herald.close());
  await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: 'a@slow.example' }] }, { to: [{ email: 'b@slow.example' }] }] }) });
  const text = await (await fetch(`${herald.url}/metrics`)).text();
  assert.match(text, /herald_destination_queue_messages\{destination="slow.example"\} 2/);
  assert.match(text, /herald_queue_messages\{state="ready"\} 2/);
  assert.match(text, /herald_destination_oldest_age_seconds\{destination="slow.example"\} \d/);
});

test('/metrics counts every accepted message of a bulk request under its destination class', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const to = ['a@gmail.com', 'b@gmail.com', 'c@googlemail.com', 'd@example.org'];
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: to.map((email) => ({ to: [{ email }] })) }) });
  assert.equal(res.status, 202);
  const text = await (await fetch(`${herald.url}/metrics`)).text();
  assert.match(text, /herald_messages_total\{outcome="processed",destination_class="gmail"\} 3/);
  assert.match(text, /herald_messages_total\{outcome="processed",destination_class="other"\} 1/);
});
