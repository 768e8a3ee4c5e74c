import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { decodeToken, encodeToken } from '../../src/tracking/tracking-token.js';
import { hrefs, sendAndCapture, tokenOf } from './support.js';

let h: TestHerald;
before(async () => {
  h = await startTestHerald();
});
after(async () => {
  await h.close();
});

const HTML = `<html><head><title>t</title></head><body>
<p>Read <a href="https://example.com/article?id=7&amp;ref=mail" class="btn">the article</a>,
write to <a href="mailto:team@example.com">us</a>, or <a href="https://example.com/private" clicktracking=off>this</a>.</p>
</body></html>`;
const TEXT = 'Read https://example.com/article?id=7&ref=mail today.';
const tracked = { tracking_settings: { click_tracking: { enable: true, enable_text: true }, open_tracking: { enable: true } } };
const content = [{ type: 'text/plain', value: TEXT }, { type: 'text/html', value: HTML }];

type Detail = { opens_count: number; clicks_count: number; events: { event_name: string; url: string | null; http_user_agent: string | null }[] };
async function detail(id: string): Promise<Detail> {
  const res = await h.api(`/v3/messages/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Detail;
}

test('a tracked HTML message has the open pixel and rewritten links; mailto and clicktracking=off links stay', async () => {
  const sent = await sendAndCapture(h, 'reader@example.com', { content, ...tracked });
  const html = String(sent.mail.html);
  const links = hrefs(html);
  assert.equal(links.length, 3);
  assert.match(links[0]!, new RegExp(`^${h.url}/c/[A-Za-z0-9_-]+$`));
  assert.equal(links[1], 'mailto:team@example.com');
  assert.equal(links[2], 'https://example.com/private');
  assert.match(html, new RegExp(`<img src="${h.url}/o/[A-Za-z0-9_-]+"[^>]*width="1" height="1"[^>]*/>\\n?</body>`));
  assert.match(html, /class="btn">the article<\/a>/, 'the rest of the tag is untouched');
  // enable_text: the plain part's link is tracked too.
  assert.match(String(sent.mail.text), new RegExp(`^Read ${h.url}/c/[A-Za-z0-9_-]+ today\\.`));
});

test('fetching the pixel records opens; each genuine open counts and privacy-proxy fetches are marked as machine opens', async () => {
  const sent = await sendAndCapture(h, 'opener@example.com', { content, ...tracked });
  const pixel = /<img src="([^"]+)"/.exec(String(sent.mail.html))![1]!;
  const first = await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0 (Macintosh) Thunderbird/128.0' } });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'image/gif');
  assert.equal(Buffer.from(await first.arrayBuffer()).subarray(0, 6).toString(), 'GIF89a');
  await fetch(pixel, { headers: { 'user-agent': 'Mozilla/5.0' } }); // Apple Mail Privacy Protection's proxy
  const d = await detail(sent.id);
  assert.equal(d.opens_count, 2);
  assert.deepEqual(d.events.filter((e) => e.event_name === 'open').map((e) => e.http_user_agent), ['Mozilla/5.0 (Macintosh) Thunderbird/128.0', 'Mozilla/5.0']);
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  const stored = (await h.backend.activity.getMessage(account, sent.id))!.events.filter((e) => e.type === 'open');
  assert.deepEqual(stored.map((e) => e.type === 'open' && e.machineOpen), [false, true]);
  assert.ok(stored.every((e) => e.type === 'open' && e.ip === '127.0.0.1'));
});

test('a click redirects to exactly the original link and is recorded with its URL', async () => {
  const sent = await sendAndCapture(h, 'clicker@example.com', { content, ...tracked });
  const link = hrefs(String(sent.mail.html))[0]!;
  const res = await fetch(link, { redirect: 'manual', headers: { 'user-agent': 'Mozilla/5.0 (X11) Firefox/130.0' } });
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), 'https://example.com/article?id=7&ref=mail');
  const textLink = /(http:\/\/\S+\/c\/[A-Za-z0-9_-]+)/.exec(String(sent.mail.text))![1]!;
  const viaText = await fetch(textLink, { redirect: 'manual' });
  assert.equal(viaText.headers.get('location'), 'https://example.com/article?id=7&ref=mail');
  const d = await detail(sent.id);
  assert.equal(d.clicks_count, 2);
  assert.deepEqual(d.events.filter((e) => e.event_name === 'click').map((e) => e.url), ['https://example.com/article?id=7&ref=mail', 'https://example.com/article?id=7&ref=mail']);
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  const clicks = (await h.backend.activity.getMessage(account, sent.id))!.events.filter((e) => e.type === 'click');
  assert.deepEqual(clicks.map((e) => e.type === 'click' && e.urlOffset), [{ index: 0, type: 'html' }, { index: 0, type: 'text' }]);
});

test('forged, truncated, altered, expired and re-targeted tokens get a 404 page and never a redirect', async () => {
  const sent = await sendAndCapture(h, 'victim@example.com', { content, ...tracked });
  const link = hrefs(String(sent.mail.html))[0]!;
  const token = tokenOf(link, 'c');
  const keys = await SigningKeys.load(null, h.backend.secrets);
  const decoded = decodeToken(keys, token, 'click', 3600, Date.now());
  assert.ok(typeof decoded === 'object' && decoded.kind === 'click');
  // The same token with another URL and the old MAC: the URL is signed.
  const bytes = Buffer.from(token, 'base64url');
  const mac = bytes.subarray(bytes.length - 16);
  const payload = bytes.subarray(0, bytes.length - 16);
  const at = payload.indexOf('https://example.com/article');
  const retargeted = Buffer.concat([payload.subarray(0, at), Buffer.from('https://evil.example/phish?'), payload.subarray(at + 27), mac]).toString('base64url');
  const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
  const expired = encodeToken(keys, { ...decoded, issuedAt: Math.floor(Date.now() / 1000) - 2 * 365 * 24 * 3600 });
  const otherKey = encodeToken(new SigningKeys(Buffer.alloc(32, 9)), decoded);
  const openAsClick = tokenOf(/<img src="([^"]+)"/.exec(String(sent.mail.html))![1]!, 'o');
  const bad = { forged: 'x'.repeat(40), truncated: token.slice(0, -6), flipped, expired, retargeted, otherKey, openAsClick, long: 'A'.repeat(5000), dots: '..%2F..%2Fetc' };
  for (const [what, t] of Object.entries(bad)) {
    const res = await fetch(`${h.url}/c/${t}`, { redirect: 'manual' });
    // A token longer than any Herald makes is refused by the router itself (414).
    assert.equal(res.status, what === 'long' ? 414 : 404, what);
    assert.equal(res.headers.get('location'), null, what);
    if (what !== 'long') assert.match(await res.text(), /not valid or has expired/, what);
    else await res.arrayBuffer();
  }
  for (const kind of ['o', 'u']) {
    const res = await fetch(`${h.url}/${kind}/${token}`);
    assert.equal(res.status, 404, `a click token is not an ${kind} token`);
    await res.arrayBuffer();
  }
  assert.equal((await detail(sent.id)).clicks_count, 0);
});

test('per-account defaults apply to mail that says nothing, and a message’s own settings override them', async () => {
  const { accountId, apiKey } = await h.newAccount('tracked-co');
  const as = { accountId, apiKey };
  const patch = (path: string, json: unknown) => h.api(path, { method: 'PATCH', json, key: apiKey });
  assert.equal((await patch('/v3/tracking_settings/open', { enabled: true })).status, 200);
  assert.equal((await patch('/v3/tracking_settings/click', { enabled: true })).status, 200);
  const html = [{ type: 'text/html', value: '<p><a href="https://example.com/x">x</a></p>' }];
  const byDefault = await sendAndCapture(h, 'd1@example.com', { content: html }, as);
  assert.match(String(byDefault.mail.html), /\/o\//);
  assert.match(hrefs(String(byDefault.mail.html))[0]!, /\/c\//);
  const overridden = await sendAndCapture(h, 'd2@example.com', { content: html, tracking_settings: { open_tracking: { enable: false }, click_tracking: { enable: false } } }, as);
  assert.doesNotMatch(String(overridden.mail.html), /\/o\//);
  assert.deepEqual(hrefs(String(overridden.mail.html)), ['https://example.com/x']);
  // The default account changed nothing: its mail stays untracked.
  const untouched = await sendAndCapture(h, 'd3@example.com', { content: html });
  assert.deepEqual(hrefs(String(untouched.mail.html)), ['https://example.com/x']);
  assert.doesNotMatch(String(untouched.mail.html), /<img/);
});

test('open tracking’s substitution tag places the pixel where the message says', async () => {
  const sent = await sendAndCapture(h, 'tag@example.com', {
    content: [{ type: 'text/html', value: '<div>[pixel]</div><p>after</p>' }],
    tracking_settings: { open_tracking: { enable: true, substitution_tag: '[pixel]' } },
  });
  assert.match(String(sent.mail.html).trim(), /^<div><img src="[^"]+\/o\/[^"]+"[^>]*\/><\/div><p>after<\/p>$/);
});

test('recipients of one personalization each get their own links, though untracked copies share one composition', async () => {
  const res = await h.api('/v3/mail/send', {
    method: 'POST',
    json: { personalizations: [{ to: [{ email: 'p1@example.com' }, { email: 'p2@example.com' }] }], from: { email: 'sender@example.com' }, subject: 'two', content: [{ type: 'text/html', value: '<a href="https://example.com/">x</a>' }], ...tracked },
  });
  assert.equal(res.status, 202);
  const account = (await h.backend.accounts.findAccountByName('default'))!.id;
  const requestId = res.headers.get('x-message-id')!;
  const bodies = await Promise.all(
    ['p1@example.com', 'p2@example.com'].map(async (to) => {
      for (let i = 0; i < 750; i++) {
        const hit = (await h.backend.inbox.list(account, { limit: 10, to })).find((m) => m.messageId.startsWith(requestId));
        if (hit) return (await h.backend.inbox.get(account, hit.id))!.raw.toString();
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no message for ${to}`);
    }),
  );
  const tokens = bodies.map((b) => /\/o\/([A-Za-z0-9_-]+)/.exec(b.replace(/=\r\n/g, ''))![1]);
  assert.notEqual(tokens[0], tokens[1]);
});

test('with trustProxy set, the address recorded is the client’s from X-Forwarded-For; without it, the connecting one', async (t) => {
  const proxied = await startTestHerald({ trustProxy: '127.0.0.1' });
  t.after(() => proxied.close());
  for (const [server, expected] of [[proxied, '198.51.100.7'], [h, '127.0.0.1']] as const) {
    const sent = await sendAndCapture(server, 'proxied@example.com', { content, ...tracked });
    const pixel = /<img src="([^"]+)"/.exec(String(sent.mail.html))![1]!;
    await (await fetch(pixel, { headers: { 'x-forwarded-for': '198.51.100.7', 'user-agent': 'Mozilla/5.0 (Windows) Outlook' } })).arrayBuffer();
    const account = (await server.backend.accounts.findAccountByName('default'))!.id;
    const open = (await server.backend.activity.getMessage(account, sent.id))!.events.find((e) => e.type === 'open');
    assert.equal(open?.type === 'open' && open.ip, expected);
  }
});

test('a HEAD request answers like GET but counts no open or click', async () => {
  const sent = await sendAndCapture(h, 'header@example.com', { content, ...tracked });
  const pixel = /<img src="([^"]+)"/.exec(String(sent.mail.html))![1]!;
  const link = hrefs(String(sent.mail.html))[0]!;
  assert.equal((await fetch(pixel, { method: 'HEAD' })).status, 200);
  const head = await fetch(link, { method: 'HEAD', redirect: 'manual' });
  assert.equal(head.status, 302);
  assert.equal(head.headers.get('location'), 'https://example.com/article?id=7&ref=mail');
  const d = await detail(sent.id);
  assert.deepEqual([d.opens_count, d.clicks_count], [0, 0]);
});

test('an account’s subscription settings shape the footer, its link and the page shown after unsubscribing', async () => {
  const { accountId, apiKey } = await h.newAccount('footer-co');
  const res = await h.api('/v3/tracking_settings/subscription', {
    method: 'PATCH',
    key: apiKey,
    json: { enabled: true, html_content: '<p class="f">Manage: <% your preferences %></p>', plain_content: 'Manage: <% %>', url: 'https://example.com/prefs', landing: '<h1>Sorry to see you go</h1><script>alert(1)</script>' },
  });
  assert.equal(res.status, 200);
  const sent = await sendAndCapture(h, 'footer@example.com', { content: [{ type: 'text/plain', value: 'Hi' }, { type: 'text/html', value: '<p>Hi</p>' }] }, { accountId, apiKey });
  assert.match(String(sent.mail.html), /<p>Hi<\/p><p class="f">Manage: <a href="https:\/\/example\.com\/prefs">your preferences<\/a><\/p>/);
  assert.match(String(sent.mail.text), /^Hi\n\nManage: https:\/\/example\.com\/prefs/);
  const header = sent.mail.headerLines.find((l) => l.key === 'list-unsubscribe')!.line.replace(/\r?\n\s+/g, ' ');
  const url = /<(http[^>]+)>/.exec(header)![1]!;
  const done = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /<h1>Sorry to see you go<\/h1>/);
  // The account's page is its own HTML; the page forbids it any script.
  assert.match(done.headers.get('content-security-policy')!, /default-src 'none'/);
  assert.deepEqual(await h.backend.suppressions.find(accountId, 'footer@example.com', null), { list: 'unsubscribes', groupId: null });
});
