import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSmtpSink } from '../support/smtp-sink.js';
import { mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { send, waitForEvent } from '../delivery/timeline.js';

async function inboxTo(herald: TestHerald): Promise<string[]> {
  const res = await herald.api('/v1/inbox?limit=1000');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { messages: { to: string }[] };
  return body.messages.map((m) => m.to).sort();
}

async function createGroup(herald: TestHerald, name: string, key?: string): Promise<number> {
  const res = await herald.api('/v3/asm/groups', { method: 'POST', json: { name, description: `${name} mail` }, ...(key ? { key } : {}) });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: number }).id;
}

function to(...emails: string[]): Record<string, unknown> {
  return { personalizations: [{ to: emails.map((email) => ({ email })) }] };
}

test('a suppressed recipient is dropped with SendGrid\'s reason while the others of the request are delivered', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const accountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
  const s = herald.backend.suppressions;
  await s.add(accountId, 'bounces', [{ email: 'bounced@example.com', reason: '550 5.1.1 unknown', status: '5.1.1' }]);
  await s.add(accountId, 'spam_reports', [{ email: 'spam@example.com' }]);
  await s.add(accountId, 'invalid_emails', [{ email: 'invalid@example.com' }]);
  await s.add(accountId, 'blocks', [{ email: 'blocked@example.com' }]);
  const unsub = await herald.api('/v3/asm/suppressions/global', { method: 'POST', json: { recipient_emails: ['unsub@example.com'] } });
  assert.equal(unsub.status, 201);

  const recipients = ['Bounced@Example.com', 'spam@example.com', 'invalid@example.com', 'unsub@example.com', 'blocked@example.com', 'fine@example.com'];
  const { msgIds } = await send(herald, mailBody(to(...recipients)));
  const expected = ['Bounced Address', 'Spam Reporting Address', 'Invalid', 'Unsubscribed Address'];
  for (const [i, reason] of expected.entries()) {
    const { timeline, event } = await waitForEvent(herald, msgIds[i]!, 'dropped');
    assert.equal(event.reason, reason, `reason for ${recipients[i]}`);
    assert.equal(timeline.status, 'not_delivered');
    assert.deepEqual(timeline.events.map((e) => e.event_name), ['processed', 'dropped']);
  }
  // Blocks do not suppress (SendGrid's Blocks API): that one is delivered, like the unlisted one.
  await waitForEvent(herald, msgIds[4]!, 'delivered');
  await waitForEvent(herald, msgIds[5]!, 'delivered');
  assert.deepEqual(await inboxTo(herald), ['blocked@example.com', 'fine@example.com']);
});

test('a group unsubscribe drops only mail sent with that asm group', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const news = await createGroup(herald, 'News');
  const alerts = await createGroup(herald, 'Alerts');
  const added = await herald.api(`/v3/asm/groups/${news}/suppressions`, { method: 'POST', json: { recipient_emails: ['reader@example.com'] } });
  assert.equal(added.status, 201);

  const inNews = await send(herald, mailBody({ ...to('reader@example.com'), asm: { group_id: news, groups_to_display: [news, alerts] } }));
  const inAlerts = await send(herald, mailBody({ ...to('reader@example.com'), asm: { group_id: alerts } }));
  const noGroup = await send(herald, mailBody(to('reader@example.com')));
  const { event } = await waitForEvent(herald, inNews.msgIds[0]!, 'dropped');
  assert.equal(event.reason, 'Unsubscribed Address');
  await waitForEvent(herald, inAlerts.msgIds[0]!, 'delivered');
  await waitForEvent(herald, noGroup.msgIds[0]!, 'delivered');
  assert.deepEqual(await inboxTo(herald), ['reader@example.com', 'reader@example.com']);
});

test('mail send refuses an asm group that is not the account\'s', async (t) => {
  const herald = await startTestHerald();
  t.after(() => herald.close());
  const mine = await createGroup(herald, 'Mine');
  const other = await herald.newAccount('other-asm');
  const theirs = await createGroup(herald, 'Theirs', other.apiKey);
  const cases: [unknown, number, string, string][] = [
    [{ group_id: 424242 }, 400, 'HERALD_ERR_UNKNOWN_GROUP', 'asm.group_id'],
    [{ group_id: theirs }, 400, 'HERALD_ERR_UNKNOWN_GROUP', 'asm.group_id'],
    [{ group_id: mine, groups_to_display: [theirs] }, 400, 'HERALD_ERR_UNKNOWN_GROUP', 'asm.groups_to_display'],
    [{ group_id: String(mine) }, 400, 'HERALD_ERR_INVALID_FIELD', 'asm.group_id'],
    [{ group_id: 1.5 }, 400, 'HERALD_ERR_INVALID_FIELD', 'asm.group_id'],
    [{}, 400, 'HERALD_ERR_MISSING_FIELD', 'asm.group_id'],
    ['news', 400, 'HERALD_ERR_INVALID_FIELD', 'asm'],
    [{ group_id: mine, groups_to_display: Array.from({ length: 26 }, (_, i) => i + 1) }, 400, 'HERALD_ERR_INVALID_FIELD', 'asm.groups_to_display'],
  ];
  for (const [asm, status, code, field] of cases) {
    const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ asm }) });
    const body = (await res.json()) as { errors: { code: string; field: string }[] };
    assert.equal(res.status, status, `asm ${JSON.stringify(asm)}: ${JSON.stringify(body)}`);
    assert.equal(body.errors[0]!.code, code, `asm ${JSON.stringify(asm)}`);
    assert.equal(body.errors[0]!.field, field, `asm ${JSON.stringify(asm)}`);
  }
  const ok = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ asm: { group_id: mine, groups_to_display: [mine] } }) });
  assert.equal(ok.status, 202);
  // The other account's own group works for it.
  const theirsOk = await herald.api('/v3/mail/send', { method: 'POST', key: other.apiKey, json: mailBody({ asm: { group_id: theirs } }) });
  assert.equal(theirsOk.status, 202);
});

test('a hard bounce from the relay lists the address in bounces and the next message to it is dropped', async (t) => {
  const sink = await startSmtpSink({ reply: (msg) => (msg.to.some((a) => a.toLowerCase() === 'dead@example.com') ? { code: 550, message: '5.1.1 User unknown' } : null) });
  t.after(() => sink.close());
  const herald = await startTestHerald({ smtpRelay: sink.url });
  t.after(() => herald.close());

  const first = await send(herald, mailBody(to('Dead@Example.com', 'alive@example.com')));
  const { event } = await waitForEvent(herald, first.msgIds[0]!, 'bounced');
  assert.equal(event.bounce_type, 'bounce');
  await waitForEvent(herald, first.msgIds[1]!, 'delivered');

  const listed = (await (await herald.api('/v3/suppression/bounces')).json()) as { email: string; status: string; reason: string; created: number }[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.email, 'dead@example.com');
  assert.equal(listed[0]!.status, '5.1.1');
  assert.match(listed[0]!.reason, /User unknown/);

  const acceptedBefore = sink.count;
  const second = await send(herald, mailBody(to('dead@example.com', 'alive@example.com')));
  const dropped = await waitForEvent(herald, second.msgIds[0]!, 'dropped');
  assert.equal(dropped.event.reason, 'Bounced Address');
  await waitForEvent(herald, second.msgIds[1]!, 'delivered');
  assert.equal(sink.count, acceptedBefore + 1, 'only the live address reached the relay');

  // Removing the bounce lets mail through again.
  assert.equal((await herald.api('/v3/suppression/bounces/dead@example.com', { method: 'DELETE' })).status, 204);
  const third = await send(herald, mailBody(to('dead@example.com')));
  await waitForEvent(herald, third.msgIds[0]!, 'bounced');
});
