import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';

// The happy paths of SendGrid's Mail Send: what is accepted is delivered (here into the capture
// inbox) as one message per recipient, with what the request asked for, and Email Activity finds it.

interface Summary {
  from_email: string;
  msg_id: string;
  subject: string;
  to_email: string;
  status: string;
  opens_count: number;
  clicks_count: number;
  last_event_time: string;
}
interface Detail extends Summary {
  template_id: string | null;
  api_key_id: string | null;
  categories: string[];
  unique_args: string;
  events: { event_name: string; processed: string; attempt_num: number; mx_server: string | null; response: string | null; reason: string | null }[];
}
interface InboxEntry {
  id: string;
  msg_id: string;
  from: string;
  to: string;
  subject: string;
  size: number;
  received_at: string;
}
interface InboxDetail extends InboxEntry {
  headers: { name: string; line: string }[];
  text: string | null;
  html: string | null;
  attachments: { filename: string | null; content_type: string; size: number; content_id: string | null; disposition: string | null }[];
}

let herald: TestHerald;

before(async () => {
  herald = await startTestHerald();
});

after(async () => {
  await herald.close();
});

const to = (...emails: string[]) => emails.map((email) => ({ email }));

/** Sends `body`, expects 202, returns the X-Message-Id. */
async function sendOk(body: Record<string, unknown>): Promise<string> {
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: body });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  assert.equal(text, '');
  const id = res.headers.get('x-message-id');
  assert.ok(id, 'X-Message-Id header');
  return id;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await herald.api(path);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

const detail = (msgId: string) => getJson<Detail>(`/v3/messages/${msgId}`);

async function query(q: string, limit = 1000): Promise<Summary[]> {
  return (await getJson<{ messages: Summary[] }>(`/v3/messages?${new URLSearchParams({ query: q, limit: String(limit) })}`)).messages;
}

async function delivered(msgId: string): Promise<Detail> {
  return eventually(async () => {
    const d = await detail(msgId);
    return d.status === 'delivered' ? d : null;
  }, 15000, `${msgId} to be delivered`);
}

/** The capture of one message, once it has arrived. */
async function captureOf(msgId: string): Promise<InboxEntry> {
  return eventually(async () => {
    const list = await getJson<{ messages: InboxEntry[] }>('/v1/inbox?limit=1000');
    return list.messages.find((m) => m.msg_id === msgId);
  }, 15000, `${msgId} to be captured`);
}

async function rawOf(inboxId: string): Promise<string> {
  const res = await herald.api(`/v1/inbox/${inboxId}/raw`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^message\/rfc822/);
  return res.text();
}

/** The header block of a raw message, unfolded, one `Name: value` per line. */
function headerLines(raw: string): string[] {
  const end = raw.indexOf('\r\n\r\n');
  return raw.slice(0, end).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
}

const header = (raw: string, name: string): string[] =>
  headerLines(raw)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());

describe('accepting', () => {
  test('a valid send is 202 with an X-Message-Id and an empty body', async () => {
    const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: to('first@example.com') }] }) });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');
    const id = res.headers.get('x-message-id');
    assert.match(id ?? '', /^[A-Za-z0-9]{22}$/);
    const d = await delivered(`${id}.0`);
    assert.equal(d.to_email, 'first@example.com');
    assert.equal(d.from_email, 'sender@example.com');
    assert.equal(d.subject, 'Hello');
  });

  test('two X-Message-Ids are never the same', async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => sendOk(mailBody({ personalizations: [{ to: to('many@example.com') }] }))));
    assert.equal(new Set(ids).size, 5);
  });
});

describe('personalizations', () => {
  let requestId: string;
  const recipients = [
    ['p0-to-a@example.com', 'to', 0],
    ['p0-to-b@example.com', 'to', 0],
    ['p0-cc@example.com', 'cc', 0],
    ['p0-bcc@example.com', 'bcc', 0],
    ['p1-to@example.com', 'to', 1],
    ['p1-cc@example.com', 'cc', 1],
    ['p1-bcc@example.com', 'bcc', 1],
  ] as const;

  before(async () => {
    requestId = await sendOk(
      mailBody({
        personalizations: [
          { to: [{ email: 'p0-to-a@example.com', name: 'To A' }, { email: 'p0-to-b@example.com' }], cc: to('p0-cc@example.com'), bcc: to('p0-bcc@example.com') },
          { to: to('p1-to@example.com'), cc: to('p1-cc@example.com'), bcc: to('p1-bcc@example.com'), subject: 'Second' },
        ],
        subject: 'First',
      }),
    );
  });

  test('two personalizations become one message per recipient, with ids <X-Message-Id>.<n>', async () => {
    for (const [n, [email, , p]] of recipients.entries()) {
      const d = await delivered(`${requestId}.${n}`);
      assert.equal(d.to_email, email);
      assert.equal(d.subject, p === 0 ? 'First' : 'Second');
    }
    assert.equal((await herald.api(`/v3/messages/${requestId}.${recipients.length}`)).status, 404);
    const listed = await query(`msg_id LIKE '${requestId}%'`);
    assert.equal(listed.length, recipients.length);
  });

  test('each recipient is captured in the inbox with its own envelope', async () => {
    for (const [n, [email]] of recipients.entries()) {
      const entry = await captureOf(`${requestId}.${n}`);
      assert.equal(entry.to, email);
      assert.equal(entry.from, 'sender@example.com');
      const byTo = await getJson<{ messages: InboxEntry[] }>(`/v1/inbox?to=${encodeURIComponent(email)}`);
      assert.deepEqual(byTo.messages.map((m) => m.msg_id), [`${requestId}.${n}`]);
    }
  });

  test("the Bcc recipient's message has no Bcc header and the right To and Cc", async () => {
    const raw = await rawOf((await captureOf(`${requestId}.3`)).id);
    assert.deepEqual(header(raw, 'Bcc'), []);
    assert.ok(!raw.includes('p0-bcc@example.com'), 'the Bcc address appears nowhere in the message');
    assert.deepEqual(header(raw, 'To'), ['To A <p0-to-a@example.com>, p0-to-b@example.com']);
    assert.deepEqual(header(raw, 'Cc'), ['p0-cc@example.com']);
    assert.deepEqual(header(raw, 'Subject'), ['First']);
    assert.deepEqual(header(raw, 'Message-ID'), [`<${requestId}.3@${herald.config.hostname}>`]);
  });

  test('a personalization sees only its own recipients in its headers', async () => {
    const raw = await rawOf((await captureOf(`${requestId}.4`)).id);
    assert.deepEqual(header(raw, 'To'), ['p1-to@example.com']);
    assert.deepEqual(header(raw, 'Cc'), ['p1-cc@example.com']);
    assert.deepEqual(header(raw, 'Bcc'), []);
    assert.deepEqual(header(raw, 'Subject'), ['Second']);
    assert.ok(!raw.includes('p0-'), 'nothing of personalization 0 leaks into personalization 1');
    assert.ok(!raw.includes('p1-bcc@example.com'));
  });
});

describe('content', () => {
  test('substitutions are applied in the subject and in every body', async () => {
    const id = await sendOk(
      mailBody({
        personalizations: [
          { to: to('subst-1@example.com'), substitutions: { '-name-': 'Ann', '%code%': '1234' } },
          { to: to('subst-2@example.com'), substitutions: { '-name-': 'Bo', '%code%': '9' } },
        ],
        subject: 'Hi -name-',
        content: [
          { type: 'text/plain', value: 'Dear -name-, your code is %code%.' },
          { type: 'text/html', value: '<p>Dear <b>-name-</b>, code %code%</p>' },
        ],
      }),
    );
    const first = await getJson<InboxDetail>(`/v1/inbox/${(await captureOf(`${id}.0`)).id}`);
    assert.equal(first.subject, 'Hi Ann');
    assert.equal(first.text?.trim(), 'Dear Ann, your code is 1234.');
    assert.equal(first.html?.trim(), '<p>Dear <b>Ann</b>, code 1234</p>');
    const second = await getJson<InboxDetail>(`/v1/inbox/${(await captureOf(`${id}.1`)).id}`);
    assert.equal(second.subject, 'Hi Bo');
    assert.equal(second.text?.trim(), 'Dear Bo, your code is 9.');
    assert.equal((await detail(`${id}.0`)).subject, 'Hi -name-', 'Email Activity keeps the subject as sent');
  });

  test('attachments, regular and inline with a content_id, arrive byte for byte', async () => {
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7 + 3) % 256));
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0c0a0c30000000049454e44ae426082', 'hex');
    const id = await sendOk(
      mailBody({
        personalizations: [{ to: to('attach@example.com') }],
        content: [
          { type: 'text/plain', value: 'see attached' },
          { type: 'text/html', value: '<p>logo: <img src="cid:logo123"></p>' },
        ],
        attachments: [
          { content: binary.toString('base64'), filename: 'data.bin', type: 'application/octet-stream' },
          { content: png.toString('base64'), filename: 'logo.png', type: 'image/png', disposition: 'inline', content_id: 'logo123' },
          { content: Buffer.from('naïve café\n').toString('base64'), filename: 'résumé notes.txt', type: 'text/plain' },
        ],
      }),
    );
    const entry = await captureOf(`${id}.0`);
    const parsed = await getJson<InboxDetail>(`/v1/inbox/${entry.id}`);
    const byName = new Map(parsed.attachments.map((a) => [a.filename, a]));
    assert.deepEqual(byName.get('data.bin'), { filename: 'data.bin', content_type: 'application/octet-stream', size: binary.length, content_id: null, disposition: 'attachment' });
    assert.deepEqual(byName.get('logo.png'), { filename: 'logo.png', content_type: 'image/png', size: png.length, content_id: 'logo123', disposition: 'inline' });
    assert.equal(byName.get('résumé notes.txt')?.size, Buffer.byteLength('naïve café\n'));

    const raw = await herald.api(`/v1/inbox/${entry.id}/raw`);
    const mail = await simpleParser(Buffer.from(await raw.arrayBuffer()));
    const contents = new Map(mail.attachments.map((a) => [a.filename, a]));
    assert.ok(contents.get('data.bin')?.content.equals(binary), 'the binary attachment is intact');
    assert.ok(contents.get('logo.png')?.content.equals(png), 'the inline image is intact');
    assert.equal(contents.get('logo.png')?.cid, 'logo123');
    assert.equal(contents.get('résumé notes.txt')?.content.toString('utf8'), 'naïve café\n');
  });

  test('custom headers arrive, with personalization headers winning over request headers', async () => {
    const id = await sendOk(
      mailBody({
        personalizations: [{ to: to('headers@example.com'), headers: { 'X-Tier': 'gold', 'X-Per': 'only-here' } }],
        headers: { 'X-Campaign': 'spring-2024', 'X-Tier': 'basic', 'List-Unsubscribe': '<mailto:unsub@example.com>' },
      }),
    );
    const raw = await rawOf((await captureOf(`${id}.0`)).id);
    assert.deepEqual(header(raw, 'X-Campaign'), ['spring-2024']);
    assert.deepEqual(header(raw, 'X-Tier'), ['gold']);
    assert.deepEqual(header(raw, 'X-Per'), ['only-here']);
    assert.deepEqual(header(raw, 'List-Unsubscribe'), ['<mailto:unsub@example.com>']);
  });

  test('categories and custom_args appear in GET /v3/messages/:id', async () => {
    const id = await sendOk(
      mailBody({
        personalizations: [{ to: to('tagged@example.com'), custom_args: { user_id: '42', plan: 'pro' } }],
        categories: ['welcome', 'onboarding'],
        custom_args: { campaign: 'c-7', plan: 'free' },
      }),
    );
    const d = await delivered(`${id}.0`);
    assert.deepEqual(d.categories, ['welcome', 'onboarding']);
    assert.deepEqual(JSON.parse(d.unique_args), { campaign: 'c-7', plan: 'pro', user_id: '42' });
    assert.ok(d.api_key_id, 'the sending key is recorded');
    assert.equal(d.template_id, null);
    const found = await query(`Contains(categories, "onboarding") AND to_email="tagged@example.com"`);
    assert.deepEqual(found.map((m) => m.msg_id), [`${id}.0`]);
  });
});

describe('sandbox, scheduling and batches', () => {
  test('sandbox_mode answers 200 and sends nothing', async () => {
    const before = (await getJson<{ messages: unknown[] }>('/v3/messages?limit=1000')).messages.length;
    const res = await herald.api('/v3/mail/send', {
      method: 'POST',
      json: mailBody({ personalizations: [{ to: to('sandbox@example.com') }], mail_settings: { sandbox_mode: { enable: true } } }),
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
    assert.equal(res.headers.get('x-message-id'), null);
    // A message sent after it is delivered; the sandboxed one never appears.
    const after = await sendOk(mailBody({ personalizations: [{ to: to('after-sandbox@example.com') }] }));
    await captureOf(`${after}.0`);
    assert.equal((await getJson<{ messages: unknown[] }>('/v3/messages?limit=1000')).messages.length, before + 1);
    assert.deepEqual((await getJson<{ messages: unknown[] }>('/v1/inbox?to=sandbox%40example.com')).messages, []);
    assert.deepEqual(await query('to_email="sandbox@example.com"'), []);
  });

  test('sandbox_mode with enable false sends', async () => {
    const id = await sendOk(mailBody({ personalizations: [{ to: to('not-sandbox@example.com') }], mail_settings: { sandbox_mode: { enable: false } } }));
    await captureOf(`${id}.0`);
  });

  test('send_at in the future keeps the message queued as processed', async () => {
    const later = await sendOk(mailBody({ personalizations: [{ to: to('scheduled@example.com') }], send_at: Math.floor(Date.now() / 1000) + 3600 }));
    const now = await sendOk(mailBody({ personalizations: [{ to: to('unscheduled@example.com') }] }));
    // The worker has run (the later-sent immediate message is delivered) and still left it alone.
    await captureOf(`${now}.0`);
    await new Promise((r) => setTimeout(r, 150));
    const d = await detail(`${later}.0`);
    assert.equal(d.status, 'processed');
    assert.deepEqual(d.events.map((e) => e.event_name), ['processed']);
    assert.deepEqual((await getJson<{ messages: unknown[] }>('/v1/inbox?to=scheduled%40example.com')).messages, []);
    const processed = await query(`status="processed" AND msg_id LIKE '${later}%'`);
    assert.deepEqual(processed.map((m) => m.msg_id), [`${later}.0`]);
  });

  test('a personalization send_at overrides the request one', async () => {
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const id = await sendOk(
      mailBody({
        personalizations: [{ to: to('per-now@example.com'), send_at: Math.floor(Date.now() / 1000) - 10 }, { to: to('per-later@example.com') }],
        send_at: inAnHour,
      }),
    );
    await captureOf(`${id}.0`);
    assert.equal((await detail(`${id}.1`)).status, 'processed');
  });

  test('a batch made by POST /v3/mail/batch is accepted', async () => {
    const res = await herald.api('/v3/mail/batch', { method: 'POST' });
    assert.equal(res.status, 201);
    const { batch_id: batchId } = (await res.json()) as { batch_id: string };
    assert.match(batchId, /^[A-Za-z0-9]{22}$/);
    assert.deepEqual(await getJson(`/v3/mail/batch/${batchId}`), { batch_id: batchId });
    const id = await sendOk(mailBody({ personalizations: [{ to: to('batched@example.com') }], batch_id: batchId, send_at: Math.floor(Date.now() / 1000) }));
    await captureOf(`${id}.0`);
  });
});

describe('Email Activity queries', () => {
  let requestId: string;
  let startMs: number;
  let endMs: number;
  const secondIso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  before(async () => {
    startMs = Date.now();
    requestId = await sendOk(
      mailBody({
        personalizations: [{ to: to('q-one@example.com') }, { to: to('q-two@example.com'), cc: to('q-three@example.com') }],
        subject: 'query me',
      }),
    );
    for (let n = 0; n < 3; n++) await delivered(`${requestId}.${n}`);
    endMs = Date.now();
  });

  test('to_email="..." finds exactly that recipient', async () => {
    const found = await query('to_email="q-two@example.com"');
    assert.deepEqual(found.map((m) => [m.msg_id, m.to_email, m.subject]), [[`${requestId}.1`, 'q-two@example.com', 'query me']]);
  });

  test('status="delivered" finds only delivered messages, ours among them', async () => {
    const found = await query('status="delivered"');
    assert.ok(found.length >= 3);
    assert.ok(found.every((m) => m.status === 'delivered'));
    for (let n = 0; n < 3; n++) assert.ok(found.some((m) => m.msg_id === `${requestId}.${n}`));
    assert.deepEqual(await query(`status="not_delivered" AND msg_id LIKE '${requestId}%'`), []);
  });

  test("msg_id LIKE '<X-Message-Id>%' finds the request's messages", async () => {
    const found = await query(`msg_id LIKE '${requestId}%'`);
    assert.deepEqual(found.map((m) => m.msg_id).sort(), [0, 1, 2].map((n) => `${requestId}.${n}`));
    assert.deepEqual(found.map((m) => m.to_email).sort(), ['q-one@example.com', 'q-three@example.com', 'q-two@example.com']);
  });

  test('last_event_time BETWEEN TIMESTAMP ... AND TIMESTAMP ... filters by time', async () => {
    const from = secondIso(Math.floor(startMs / 1000) * 1000 - 1000);
    const until = secondIso(Math.ceil(endMs / 1000) * 1000 + 1000);
    const inside = await query(`msg_id LIKE '${requestId}%' AND last_event_time BETWEEN TIMESTAMP "${from}" AND TIMESTAMP "${until}"`);
    assert.equal(inside.length, 3);
    for (const m of inside) {
      const t = Date.parse(m.last_event_time);
      assert.ok(t >= Date.parse(from) && t <= Date.parse(until), m.last_event_time);
    }
    assert.deepEqual(await query('last_event_time BETWEEN TIMESTAMP "2017-11-07T23:13:58Z" AND TIMESTAMP "2017-11-08T23:13:58Z"'), []);
    const afterwards = secondIso(Math.ceil(endMs / 1000) * 1000 + 60_000);
    assert.deepEqual(await query(`msg_id LIKE '${requestId}%' AND last_event_time > TIMESTAMP "${afterwards}"`), []);
  });

  test('limit caps the number of messages listed', async () => {
    assert.equal((await query(`msg_id LIKE '${requestId}%'`, 2)).length, 2);
    const all = await getJson<{ messages: Summary[] }>('/v3/messages');
    assert.ok(all.messages.length <= 10, 'the default limit is 10');
  });

  test('a bad query is a 400 on field query', async () => {
    for (const q of ['to_email=', 'nonsense="x"', 'to_email="x" AND', "msg_id LIKE 'a\\b'", 'status = delivered', 'last_event_time BETWEEN TIMESTAMP "2020-13-01T00:00:00Z" AND TIMESTAMP "2021-01-01T00:00:00Z"']) {
      const res = await herald.api(`/v3/messages?${new URLSearchParams({ query: q })}`);
      assert.equal(res.status, 400, q);
      const body = (await res.json()) as { errors: { field: string; code: string }[] };
      assert.deepEqual(body.errors.map((e) => [e.field, e.code]), [['query', 'HERALD_ERR_INVALID_QUERY']], q);
    }
  });

  test('a limit out of range is a 400 on field limit', async () => {
    for (const limit of ['0', '1001', '-1', 'ten', '2.5', '']) {
      const res = await herald.api(`/v3/messages?limit=${limit}`);
      assert.equal(res.status, 400, `limit=${limit}`);
      const body = (await res.json()) as { errors: { field: string; code: string }[] };
      assert.deepEqual(body.errors.map((e) => [e.field, e.code]), [['limit', 'HERALD_ERR_INVALID_FIELD']], `limit=${limit}`);
    }
  });

  test('GET /v3/messages/:id has the event timeline: processed, then delivered', async () => {
    const d = await detail(`${requestId}.0`);
    assert.equal(d.msg_id, `${requestId}.0`);
    assert.equal(d.status, 'delivered');
    assert.deepEqual(d.events.map((e) => e.event_name), ['processed', 'delivered']);
    const [processed, deliveredEvent] = d.events as [Detail['events'][number], Detail['events'][number]];
    for (const e of d.events) assert.match(e.processed, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(Date.parse(processed.processed) <= Date.parse(deliveredEvent.processed));
    assert.ok(Date.parse(processed.processed) >= Math.floor(startMs / 1000) * 1000);
    assert.ok(Date.parse(deliveredEvent.processed) <= endMs);
    assert.equal(deliveredEvent.attempt_num, 1);
    assert.equal(deliveredEvent.mx_server, 'capture');
    assert.match(deliveredEvent.response ?? '', /^250 /);
    assert.equal(d.last_event_time, deliveredEvent.processed);
  });

  test('an unknown message id is a 404', async () => {
    const res = await herald.api(`/v3/messages/${requestId}.99`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { errors: { field: string; code: string }[] };
    assert.deepEqual(body.errors.map((e) => [e.field, e.code]), [['msg_id', 'HERALD_ERR_NOT_FOUND']]);
  });
});
