import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { simpleParser } from 'mailparser';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { heraldMessageId, startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startDnsServer, type DnsTestServer } from '../support/dns-server.js';
import { publish, resolverFor } from '../domains/support.js';
import { tokenOf } from './support.js';

let dns: DnsTestServer;
let sink: SmtpSink;
let h: TestHerald;
let groupId: number;
const FROM = 'news@lists.example.test';

before(async () => {
  dns = await startDnsServer();
  sink = await startSmtpSink();
  h = await startTestHerald({ dnsCheckServers: `127.0.0.1:${dns.port}`, smtpRelay: sink.url });
  const created = (await (await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain: 'lists.example.test' } })).json()) as { id: number; dns: Record<string, { host: string; data: string }> };
  publish(dns, [created.dns.dkim1!, created.dns.dkim2!]);
  assert.equal(((await (await h.api(`/v3/whitelabel/domains/${created.id}/validate`, { method: 'POST' })).json()) as { valid: boolean }).valid, true);
  const group = await h.api('/v3/asm/groups', { method: 'POST', json: { name: 'Weekly <news> & "offers"', description: 'Our weekly letter' } });
  groupId = ((await group.json()) as { id: number }).id;
});
after(async () => {
  await h.close();
  await sink.close();
  await dns.close();
});

/** Sends through the API and returns the id and raw bytes the relay received. */
async function deliver(to: string, extra: Record<string, unknown> = {}): Promise<{ id: string; raw: Buffer }> {
  const res = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ from: { email: FROM }, personalizations: [{ to: [{ email: to }] }], ...extra }) });
  assert.equal(res.status, 202, await res.text());
  const id = `${res.headers.get('x-message-id')}.0`;
  const found = await eventually(async () => sink.messages.find((m) => heraldMessageId(m.raw)?.id === id), 15_000, `message ${id} at the relay`);
  return { id, raw: found.raw };
}

async function unsubscribeUrl(raw: Buffer): Promise<string> {
  const mail = await simpleParser(raw);
  const header = mail.headerLines.find((l) => l.key === 'list-unsubscribe')!.line;
  const m = /^List-Unsubscribe:\s*<(http[^>]+)>$/i.exec(header.replace(/\r?\n\s+/g, ' '));
  assert.ok(m, header);
  return m[1]!;
}

const oneClick = (url: string, init: RequestInit = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click', redirect: 'manual', ...init });

async function status(id: string): Promise<{ status: string; events: { event_name: string }[] }> {
  return (await (await h.api(`/v3/messages/${id}`)).json()) as { status: string; events: { event_name: string }[] };
}

test('a marketing message carries both List-Unsubscribe headers, covered by a DKIM signature that verifies', async () => {
  const { raw } = await deliver('ann@example.com', { asm: { group_id: groupId } });
  const text = raw.toString().replace(/\r\n[ \t]+/g, ' ');
  assert.match(text, /^List-Unsubscribe: <http:\/\/127\.0\.0\.1:\d+\/u\/[A-Za-z0-9_-]+>\r$/m);
  assert.match(text, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);
  const results = (await dkimVerify(raw, { resolver: resolverFor(dns) })).results as unknown as { status: { result: string } }[];
  assert.equal(results.length, 2);
  for (const r of results) assert.equal(r.status.result, 'pass');
  // RFC 8058 §3: both fields are among the signed ones, in every signature.
  const signed = [...text.matchAll(/^DKIM-Signature:.*?[\s;]h=([^;]+);/gm)].map((m) => m[1]!.split(':'));
  assert.equal(signed.length, 2);
  for (const h of signed) assert.ok(h.includes('list-unsubscribe') && h.includes('list-unsubscribe-post'), h.join(':'));
  // Mail with neither a group nor subscription tracking is not marketing: no headers.
  const plain = await deliver('ann-transactional@example.com');
  assert.doesNotMatch(plain.raw.toString(), /^List-Unsubscribe/im);
});

test('GET shows a confirm page and changes nothing; the one-click POST suppresses the group and the next send is dropped', async () => {
  const { id, raw } = await deliver('bob@example.com', { asm: { group_id: groupId } });
  const url = await unsubscribeUrl(raw);
  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.match(page.headers.get('content-security-policy')!, /frame-ancestors 'none'/);
  const html = await page.text();
  assert.match(html, /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
  assert.match(html, /Weekly &lt;news&gt; &amp; &quot;offers&quot;/, 'the group name is escaped');
  assert.match(html, /bob@example\.com/);
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  assert.equal(await h.backend.suppressions.find(account, 'bob@example.com', groupId), null, 'GET did not unsubscribe');

  const res = await oneClick(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('location'), null);
  assert.match(await res.text(), /You are unsubscribed/);
  assert.deepEqual(await h.backend.suppressions.find(account, 'bob@example.com', groupId), { list: 'group', groupId });
  assert.ok((await status(id)).events.some((e) => e.event_name === 'group_unsubscribe'));

  const next = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ from: { email: FROM }, personalizations: [{ to: [{ email: 'bob@example.com' }] }], asm: { group_id: groupId } }) });
  const nextId = `${next.headers.get('x-message-id')}.0`;
  await eventually(async () => (await status(nextId)).status === 'not_delivered', 15_000, 'the next message dropped');
  assert.ok((await status(nextId)).events.some((e) => e.event_name === 'dropped'));

  // The page now offers the way back; resubscribing lifts the group suppression.
  assert.match(await (await fetch(url)).text(), /Resubscribe/);
  const back = await fetch(`${url}/resubscribe`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'resubscribe=1' });
  assert.equal(back.status, 200);
  assert.match(await back.text(), /subscribed again/);
  assert.equal(await h.backend.suppressions.find(account, 'bob@example.com', groupId), null);
});

test('with subscription tracking and no group, one-click adds the global unsubscribe and resubscribing removes it', async () => {
  const { raw } = await deliver('carol@example.com', {
    content: [{ type: 'text/plain', value: 'Hi' }, { type: 'text/html', value: '<html><body><p>Hi</p></body></html>' }],
    tracking_settings: { subscription_tracking: { enable: true } },
  });
  const url = await unsubscribeUrl(raw);
  const mail = await simpleParser(raw);
  assert.match(String(mail.html), new RegExp(`emails <a href="${url.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}">click here</a>\\.</p></body>`));
  assert.match(String(mail.text), new RegExp(`click here: ${url.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}\\.`));
  // RFC 8058 also allows multipart/form-data.
  const form = new FormData();
  form.set('List-Unsubscribe', 'One-Click');
  const res = await fetch(url, { method: 'POST', body: form });
  assert.equal(res.status, 200, await res.clone().text());
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  assert.deepEqual(await h.backend.suppressions.find(account, 'carol@example.com', null), { list: 'unsubscribes', groupId: null });
  const back = await fetch(`${url}/resubscribe`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'resubscribe=1' });
  assert.equal(back.status, 200);
  assert.equal(await h.backend.suppressions.find(account, 'carol@example.com', null), null);
});

test('unsubscribe requests without the one-click pair, with JSON, with a bad or other-kind token, or too large are refused and change nothing', async () => {
  const { raw } = await deliver('dan@example.com', { asm: { group_id: groupId } });
  const url = await unsubscribeUrl(raw);
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  assert.equal((await oneClick(url, { body: 'List-Unsubscribe=Yes' })).status, 400);
  assert.equal((await fetch(url, { method: 'POST' })).status, 400);
  assert.equal((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"List-Unsubscribe":"One-Click"}' })).status, 400);
  assert.equal((await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'List-Unsubscribe=One-Click' })).status, 415);
  assert.equal((await oneClick(url, { body: 'List-Unsubscribe=One-Click&pad=' + 'x'.repeat(20_000) })).status, 413);
  const token = tokenOf(url, 'u');
  const base = url.slice(0, url.length - token.length);
  assert.equal((await oneClick(base + token.slice(0, -3))).status, 404);
  assert.equal((await oneClick(base + token.slice(0, 30) + (token[30] === 'A' ? 'B' : 'A') + token.slice(31))).status, 404);
  assert.equal((await fetch(base + token.slice(0, -3) + '/resubscribe', { method: 'POST' })).status, 404);
  assert.equal(await h.backend.suppressions.find(account, 'dan@example.com', groupId), null);
});
