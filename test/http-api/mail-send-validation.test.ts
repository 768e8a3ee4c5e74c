import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';

// Every malformed, missing, oversized or hostile input to POST /v3/mail/send is refused with the
// status, field and code SendGrid's error shape promises, nothing of it is enqueued, and the server
// keeps accepting good mail afterwards.

interface ErrorEntry {
  message: string;
  field: string | null;
  help: string;
  code: string;
}

interface Expected {
  status: number;
  field: string | null;
  code: string;
}

interface SendInit {
  json?: unknown;
  body?: string | Buffer;
  headers?: Record<string, string>;
  key?: string | null;
}

let herald: TestHerald;
/** X-Message-Id of every request answered 202: only their messages may ever reach the inbox. */
const accepted: string[] = [];

before(async () => {
  herald = await startTestHerald();
});

after(async () => {
  await herald.close();
});

/** How many messages the default account has: a refused request must not change it. */
async function messageCount(): Promise<number> {
  const res = await herald.api('/v3/messages?limit=1000');
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: unknown[] }).messages.length;
}

async function inboxCount(): Promise<number> {
  const res = await herald.api('/v1/inbox?limit=1000');
  assert.equal(res.status, 200);
  return ((await res.json()) as { messages: unknown[] }).messages.length;
}

async function send(init: SendInit): Promise<Response> {
  const { json, body, headers, key } = init;
  const res = await herald.api('/v3/mail/send', {
    method: 'POST',
    ...(json !== undefined ? { json } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(headers ? { headers } : {}),
    ...(key !== undefined ? { key } : {}),
  });
  const id = res.headers.get('x-message-id');
  if (res.status === 202 && id) accepted.push(id);
  return res;
}

/** Parses SendGrid's `{"errors": [...]}` body and checks the shape of every entry. */
function parseErrors(text: string): ErrorEntry[] {
  let parsed: unknown;
  assert.doesNotThrow(() => (parsed = JSON.parse(text)), `error body is not JSON: ${text.slice(0, 200)}`);
  const errors = (parsed as { errors?: ErrorEntry[] }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `no errors array in ${text.slice(0, 200)}`);
  for (const e of errors) {
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    assert.equal(e.help, `docs/errors.md#${e.code.toLowerCase().replaceAll('_', '-')}`);
    assert.ok(e.field === null || typeof e.field === 'string');
  }
  return errors;
}

async function readErrors(res: Response): Promise<ErrorEntry[]> {
  return parseErrors(await res.text());
}

/**
 * Sends `init`, expects exactly one problem `expected` (or, with `only: false`, that the first
 * listed problem is `expected`), and checks that no message was enqueued.
 */
async function expectRefused(init: SendInit, expected: Expected, options: { only?: boolean } = {}): Promise<ErrorEntry[]> {
  const before = await messageCount();
  const res = await send(init);
  const text = await res.text();
  assert.equal(res.status, expected.status, `status; body: ${text.slice(0, 500)}`);
  const errors = parseErrors(text);
  assert.equal(res.headers.get('x-message-id'), null, 'a refused request has no X-Message-Id');
  if (options.only ?? true) assert.equal(errors.length, 1, `one problem expected: ${JSON.stringify(errors).slice(0, 500)}`);
  assert.deepEqual({ field: errors[0]!.field, code: errors[0]!.code }, { field: expected.field, code: expected.code });
  assert.equal(await messageCount(), before, 'a refused request enqueued messages');
  return errors;
}

const bad = (field: string | null, code: string): Expected => ({ status: 400, field, code });
const to = (...emails: string[]) => emails.map((email) => ({ email }));
const personalization = (extra: Record<string, unknown>) => [{ to: to('rcpt@example.com'), ...extra }];
const nested = (depth: number, open: string, close: string, inner = '') => open.repeat(depth) + inner + close.repeat(depth);
const rawJson = { 'content-type': 'application/json' };

describe('body framing', () => {
  test('a body that is not JSON is a 400 bad JSON', async () => {
    await expectRefused({ body: '{"from": {"email": ', headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
  });

  test('an empty body is a 400 bad JSON', async () => {
    await expectRefused({ body: '', headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
  });

  test('a JSON array body is a 400: the body must be an object', async () => {
    await expectRefused({ json: [mailBody()] }, bad(null, 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a JSON null body is a 400: the body must be an object', async () => {
    await expectRefused({ body: 'null', headers: rawJson }, bad(null, 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a JSON string body is a 400: the body must be an object', async () => {
    await expectRefused({ json: JSON.stringify(mailBody()) }, bad(null, 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a text/plain body is refused as an unsupported media type (415)', async () => {
    await expectRefused(
      { body: JSON.stringify(mailBody()), headers: { 'content-type': 'text/plain' } },
      { status: 415, field: null, code: 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE' },
    );
  });

  test('a text/plain body is never enqueued', async () => {
    const before = await messageCount();
    const res = await send({ body: JSON.stringify(mailBody()), headers: { 'content-type': 'text/plain' } });
    assert.ok(res.status === 400 || res.status === 415, `status ${res.status}`);
    await readErrors(res);
    assert.equal(await messageCount(), before);
  });

  test('an application/xml body is a 415', async () => {
    await expectRefused(
      { body: '<mail/>', headers: { 'content-type': 'application/xml' } },
      { status: 415, field: null, code: 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE' },
    );
  });

  test('a body without a content type is a 415', async () => {
    await expectRefused(
      { body: JSON.stringify(mailBody()), headers: { 'content-type': '' } },
      { status: 415, field: null, code: 'HERALD_ERR_UNSUPPORTED_MEDIA_TYPE' },
    );
  });

  test('a body over 30 MB is a 413 and the server answers before reading it all', async () => {
    const big = mailBody({ attachments: [{ content: 'A'.repeat(31 * 1024 * 1024), filename: 'big.bin' }] });
    await expectRefused({ json: big }, { status: 413, field: null, code: 'HERALD_ERR_PAYLOAD_TOO_LARGE' });
  });

  test('a 29 MB payload is still accepted with 202 and delivered', async () => {
    const before = await messageCount();
    const content = 'QUJD'.repeat((29 * 1024 * 1024) / 4);
    const res = await send({ json: mailBody({ personalizations: [{ to: to('big@example.com') }], attachments: [{ content, filename: 'big.bin' }] }) });
    assert.equal(res.status, 202, await res.text());
    const id = res.headers.get('x-message-id');
    assert.ok(id);
    assert.equal(await messageCount(), before + 1);
    await eventually(async () => {
      const m = (await (await herald.api(`/v3/messages/${id}.0`)).json()) as { status: string };
      return m.status === 'delivered';
    }, 15000, 'the 29 MB message to be delivered');
  });

  test('a body with invalid UTF-8 bytes is refused, not silently altered', async () => {
    const [head, tail] = JSON.stringify(mailBody({ subject: '@@' })).split('@@') as [string, string];
    const body = Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(tail)]);
    await expectRefused({ body, headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
  });
});

describe('authentication comes first', () => {
  test('no Authorization is a 401 even for a valid body', async () => {
    await expectRefused({ json: mailBody(), key: null }, { status: 401, field: null, code: 'HERALD_ERR_UNAUTHORIZED' });
  });

  test('a key without mail.send is a 403', async () => {
    const key = await herald.newKey(['messages.read']);
    const errors = await expectRefused({ json: mailBody(), key }, { status: 403, field: null, code: 'HERALD_ERR_FORBIDDEN' });
    assert.match(errors[0]!.message, /mail\.send/);
  });

  test('an unauthenticated malformed body is a 401, not parsed', async () => {
    await expectRefused({ body: '{nope', headers: rawJson, key: null }, { status: 401, field: null, code: 'HERALD_ERR_UNAUTHORIZED' });
  });
});

describe('from and addresses', () => {
  test('a missing from is a 400 on from.email', async () => {
    const { from: _from, ...body } = mailBody();
    await expectRefused({ json: body }, bad('from.email', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('a from without email is a 400 on from.email', async () => {
    await expectRefused({ json: mailBody({ from: { name: 'No Address' } }) }, bad('from.email', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('a from that is a string is a 400 on from', async () => {
    await expectRefused({ json: mailBody({ from: 'sender@example.com' }) }, bad('from', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('an address without @ is a 400 invalid email', async () => {
    await expectRefused({ json: mailBody({ from: { email: 'sender.example.com' } }) }, bad('from.email', 'HERALD_ERR_INVALID_EMAIL'));
  });

  test('an address with spaces is a 400 invalid email', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('rc pt@example.com') }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });

  test('an address with two @ is a 400 invalid email', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('a@b@example.com') }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });

  test('an address whose domain ends in a dot is a 400 invalid email', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('rcpt@example.com.') }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });

  test('a 300-character address is a 400 invalid email', async () => {
    const long = `${'a'.repeat(60)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(52)}.com`;
    assert.equal(long.length, 300);
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to(long) }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });

  test('an address that is a number is a 400 invalid email', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: [{ email: 42 }] }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });

  test('an invalid cc address is reported at its own index', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ cc: to('ok@example.com', 'not-an-address') }) }) },
      bad('personalizations.0.cc.1.email', 'HERALD_ERR_INVALID_EMAIL'),
    );
  });
});

describe('header injection', () => {
  test('CRLF in from.name is refused', async () => {
    await expectRefused(
      { json: mailBody({ from: { email: 'sender@example.com', name: 'Eve\r\nBcc: victim@example.com' } }) },
      bad('from.name', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in to.email is refused', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('rcpt@example.com\r\nBcc: victim@example.com') }] }) },
      bad('personalizations.0.to.0.email', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('a bare LF in to.name is refused', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: [{ email: 'rcpt@example.com', name: 'Bob\nX-Evil: 1' }] }] }) },
      bad('personalizations.0.to.0.name', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in the subject is refused', async () => {
    await expectRefused({ json: mailBody({ subject: 'Hi\r\nBcc: victim@example.com' }) }, bad('subject', 'HERALD_ERR_HEADER_INJECTION'), { only: false });
  });

  test('CRLF in a personalization subject is refused', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ subject: 'Hi\r\n\r\nbody' }) }) },
      bad('personalizations.0.subject', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('a NUL byte in the subject is refused', async () => {
    await expectRefused({ json: mailBody({ subject: 'Hi\u0000there' }) }, bad('subject', 'HERALD_ERR_HEADER_INJECTION'), { only: false });
  });

  test('CRLF in a custom header value is refused', async () => {
    await expectRefused(
      { json: mailBody({ headers: { 'X-Custom': 'ok\r\nBcc: victim@example.com' } }) },
      bad('headers.X-Custom', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in a header name is refused', async () => {
    await expectRefused(
      { json: mailBody({ headers: { 'X-A\r\nBcc': 'victim@example.com' } }) },
      bad('headers.X-A\r\nBcc', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in a personalization header value is refused', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ headers: { 'X-Per': 'a\nb' } }) }) },
      bad('personalizations.0.headers.X-Per', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in a category is refused', async () => {
    await expectRefused({ json: mailBody({ categories: ['ok', 'bad\r\nX-Evil: 1'] }) }, bad('categories.1', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('CRLF in an attachment filename is refused', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJD', filename: 'a.txt\r\nContent-Type: text/html' }] }) },
      bad('attachments.0.filename', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });

  test('CRLF in a content type is refused', async () => {
    await expectRefused(
      { json: mailBody({ content: [{ type: 'text/plain\r\nX-Evil: 1', value: 'x' }] }) },
      bad('content.0.type', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('CRLF in an attachment type is refused', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJD', filename: 'a.txt', type: 'text/plain\r\nX-Evil: 1' }] }) },
      bad('attachments.0.type', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('CRLF in an attachment content_id is refused', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJD', filename: 'a.png', disposition: 'inline', content_id: 'cid\r\nX: 1' }] }) },
      bad('attachments.0.content_id', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('CRLF in reply_to is refused', async () => {
    await expectRefused(
      { json: mailBody({ reply_to: { email: 'reply@example.com\r\nBcc: victim@example.com' } }) },
      bad('reply_to.email', 'HERALD_ERR_HEADER_INJECTION'),
    );
  });
});

describe('custom headers', () => {
  for (const name of ['To', 'From', 'Subject', 'DKIM-Signature', 'Content-Type']) {
    test(`the reserved header ${name} cannot be set`, async () => {
      await expectRefused({ json: mailBody({ headers: { [name]: 'x' } }) }, bad(`headers.${name}`, 'HERALD_ERR_RESERVED_HEADER'));
    });
  }

  test('a reserved header is refused whatever its case, in a personalization too', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ headers: { bcc: 'victim@example.com' } }) }) },
      bad('personalizations.0.headers.bcc', 'HERALD_ERR_RESERVED_HEADER'),
    );
  });

  test('a header name with a colon is refused', async () => {
    await expectRefused({ json: mailBody({ headers: { 'X-A:B': 'x' } }) }, bad('headers.X-A:B', 'HERALD_ERR_HEADER_INJECTION'));
  });

  test('a header name with a space is refused', async () => {
    await expectRefused({ json: mailBody({ headers: { 'X A': 'x' } }) }, bad('headers.X A', 'HERALD_ERR_HEADER_INJECTION'));
  });

  test('a header value that is not a string is refused', async () => {
    await expectRefused({ json: mailBody({ headers: { 'X-Num': 7 } }) }, bad('headers.X-Num', 'HERALD_ERR_INVALID_FIELD'));
  });
});

describe('personalizations', () => {
  test('no personalizations is a 400', async () => {
    const { personalizations: _p, ...body } = mailBody();
    await expectRefused({ json: body }, bad('personalizations', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('empty personalizations is a 400', async () => {
    await expectRefused({ json: mailBody({ personalizations: [] }) }, bad('personalizations', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('personalizations that is not an array is a 400', async () => {
    await expectRefused({ json: mailBody({ personalizations: { to: to('rcpt@example.com') } }) }, bad('personalizations', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a personalization without to is a 400', async () => {
    await expectRefused({ json: mailBody({ personalizations: [{ cc: to('cc@example.com') }] }) }, bad('personalizations.0.to', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('a personalization with an empty to is a 400', async () => {
    await expectRefused({ json: mailBody({ personalizations: [{ to: [] }] }) }, bad('personalizations.0.to', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('1001 personalizations is a 400', async () => {
    const personalizations = Array.from({ length: 1001 }, (_, i) => ({ to: to(`r${i}@example.com`) }));
    const errors = await expectRefused({ json: mailBody({ personalizations }) }, bad('personalizations', 'HERALD_ERR_INVALID_FIELD'));
    assert.match(errors[0]!.message, /1001/);
  });

  test('1001 recipients across personalizations is a 400', async () => {
    const personalizations = [
      { to: to(...Array.from({ length: 500 }, (_, i) => `a${i}@example.com`)), cc: to('c0@example.com') },
      { to: to(...Array.from({ length: 499 }, (_, i) => `b${i}@example.com`)), bcc: to('d0@example.com') },
    ];
    const errors = await expectRefused({ json: mailBody({ personalizations }) }, bad('personalizations', 'HERALD_ERR_TOO_MANY_RECIPIENTS'));
    assert.match(errors[0]!.message, /1001/);
  });

  test('the same recipient in to and cc, in another case, is a 400', async () => {
    const errors = await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('Dup@Example.com'), cc: to('dup@example.COM') }] }) },
      bad('personalizations.0', 'HERALD_ERR_DUPLICATE_RECIPIENT'),
    );
    assert.match(errors[0]!.message, /dup@example\.COM/);
  });

  test('the same recipient in to and bcc is a 400', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: [{ to: to('a@example.com', 'b@example.com'), bcc: to('B@EXAMPLE.COM') }] }) },
      bad('personalizations.0', 'HERALD_ERR_DUPLICATE_RECIPIENT'),
    );
  });

  test('dynamic_template_data that is not an object is a 400', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ dynamic_template_data: [1, 2] }) }) },
      bad('personalizations.0.dynamic_template_data', 'HERALD_ERR_INVALID_FIELD'),
    );
  });
});

describe('content', () => {
  test('missing content is a 400', async () => {
    const { content: _c, ...body } = mailBody();
    await expectRefused({ json: body }, bad('content', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('an empty content array is a 400', async () => {
    await expectRefused({ json: mailBody({ content: [] }) }, bad('content', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('an empty content value is a 400', async () => {
    await expectRefused({ json: mailBody({ content: [{ type: 'text/plain', value: '' }] }) }, bad('content.0.value', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('text/html before text/plain is a 400', async () => {
    await expectRefused(
      { json: mailBody({ content: [{ type: 'text/html', value: '<p>x</p>' }, { type: 'text/plain', value: 'x' }] }) },
      bad('content', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('two text/plain blocks is a 400', async () => {
    await expectRefused(
      { json: mailBody({ content: [{ type: 'text/plain', value: 'x' }, { type: 'TEXT/PLAIN', value: 'y' }] }) },
      bad('content.1.type', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('a 1 MB subject is a 400', async () => {
    await expectRefused({ json: mailBody({ subject: 'S'.repeat(1024 * 1024) }) }, bad('subject', 'HERALD_ERR_INVALID_FIELD'), { only: false });
  });

  test('a subject that is not a string is a 400', async () => {
    await expectRefused({ json: mailBody({ subject: ['Hello'] }) }, bad('subject', 'HERALD_ERR_INVALID_FIELD'), { only: false });
  });

  test('an invalid subject is reported once, not also as a missing personalization subject', async () => {
    await expectRefused({ json: mailBody({ subject: 'S'.repeat(999) }) }, bad('subject', 'HERALD_ERR_INVALID_FIELD'));
  });
});

describe('attachments', () => {
  test('content that is not base64 is a 400', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'this is not base64!', filename: 'a.txt' }] }) },
      bad('attachments.0.content', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('base64 of the wrong length is a 400', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJDR', filename: 'a.txt' }] }) },
      bad('attachments.0.content', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('an attachment without filename is a 400', async () => {
    await expectRefused({ json: mailBody({ attachments: [{ content: 'QUJD' }] }) }, bad('attachments.0.filename', 'HERALD_ERR_MISSING_FIELD'));
  });

  test('an inline attachment without content_id is a 400', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJD', filename: 'logo.png', type: 'image/png', disposition: 'inline' }] }) },
      bad('attachments.0.content_id', 'HERALD_ERR_MISSING_FIELD'),
    );
  });

  test('an unknown disposition is a 400', async () => {
    await expectRefused(
      { json: mailBody({ attachments: [{ content: 'QUJD', filename: 'a.txt', disposition: 'form-data' }] }) },
      bad('attachments.0.disposition', 'HERALD_ERR_INVALID_FIELD'),
    );
  });
});

describe('categories and custom_args', () => {
  test('more than 10 categories is a 400', async () => {
    await expectRefused(
      { json: mailBody({ categories: Array.from({ length: 11 }, (_, i) => `c${i}`) }) },
      bad('categories', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('a category of 256 characters is a 400', async () => {
    await expectRefused({ json: mailBody({ categories: ['c'.repeat(256)] }) }, bad('categories.0', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('custom_args over 10,000 bytes is a 400', async () => {
    // 2 × (3 + 4998) = 10,002 bytes; the é counts twice.
    await expectRefused(
      { json: mailBody({ custom_args: { ka1: 'x'.repeat(4998), ka2: `${'x'.repeat(4996)}é` } }) },
      bad('custom_args', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('a custom_arg value that is not a string is a 400', async () => {
    await expectRefused({ json: mailBody({ custom_args: { user_id: 42 } }) }, bad('custom_args.user_id', 'HERALD_ERR_INVALID_FIELD'));
  });
});

describe('scheduling and references', () => {
  const nowS = () => Math.floor(Date.now() / 1000);

  test('send_at more than 72 h ahead is a 400', async () => {
    await expectRefused({ json: mailBody({ send_at: nowS() + 72 * 3600 + 120 }) }, bad('send_at', 'HERALD_ERR_SEND_AT_OUT_OF_RANGE'));
  });

  test('a personalization send_at more than 72 h ahead is a 400', async () => {
    await expectRefused(
      { json: mailBody({ personalizations: personalization({ send_at: nowS() + 73 * 3600 }) }) },
      bad('personalizations.0.send_at', 'HERALD_ERR_SEND_AT_OUT_OF_RANGE'),
    );
  });

  test('a negative send_at is a 400', async () => {
    await expectRefused({ json: mailBody({ send_at: -1 }) }, bad('send_at', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a send_at string is a 400', async () => {
    await expectRefused({ json: mailBody({ send_at: String(nowS() + 60) }) }, bad('send_at', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('a fractional send_at is a 400', async () => {
    await expectRefused({ json: mailBody({ send_at: nowS() + 60.5 }) }, bad('send_at', 'HERALD_ERR_INVALID_FIELD'));
  });

  test('reply_to together with reply_to_list is a 400', async () => {
    await expectRefused(
      { json: mailBody({ reply_to: { email: 'r@example.com' }, reply_to_list: [{ email: 's@example.com' }] }) },
      bad('reply_to_list', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('an unknown batch_id is a 400', async () => {
    await expectRefused({ json: mailBody({ batch_id: 'NoSuchBatch0000000000a' }) }, bad('batch_id', 'HERALD_ERR_UNKNOWN_BATCH'));
  });

  test('an unknown template_id is a 400', async () => {
    await expectRefused({ json: mailBody({ template_id: 'd-0123456789abcdef0123456789abcdef' }) }, bad('template_id', 'HERALD_ERR_UNKNOWN_TEMPLATE'));
  });

  test('a sandbox_mode.enable that is not a boolean is a 400', async () => {
    await expectRefused(
      { json: mailBody({ mail_settings: { sandbox_mode: { enable: 'yes' } } }) },
      bad('mail_settings.sandbox_mode.enable', 'HERALD_ERR_INVALID_FIELD'),
    );
  });

  test('sandbox_mode does not skip validation', async () => {
    const { from: _from, ...body } = mailBody({ mail_settings: { sandbox_mode: { enable: true } } });
    await expectRefused({ json: body }, bad('from.email', 'HERALD_ERR_MISSING_FIELD'));
  });
});

describe('hostile JSON', () => {
  test('a __proto__ key is refused and pollutes nothing', async () => {
    await expectRefused({ body: '{"__proto__": {"polluted": "yes"}, "from": {"email": "a@example.com"}}', headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a constructor.prototype key is refused', async () => {
    await expectRefused({ body: '{"constructor": {"prototype": {"polluted": "yes"}}}', headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a __proto__ key nested in custom_args is refused', async () => {
    const body = JSON.stringify(mailBody()).replace(/}$/, ',"custom_args":{"__proto__":{"isAdmin":"true"}}}');
    await expectRefused({ body, headers: rawJson }, bad(null, 'HERALD_ERR_BAD_JSON'));
  });

  test('100,000 nested arrays are a 400, not a crash', async () => {
    await expectRefused({ body: nested(100_000, '[', ']'), headers: rawJson }, { status: 400, field: null, code: 'HERALD_ERR_BAD_JSON' });
  });

  test('100,000 nested objects are a 400, not a crash', async () => {
    await expectRefused({ body: nested(100_000, '{"a":', '}', '1'), headers: rawJson }, { status: 400, field: null, code: 'HERALD_ERR_BAD_JSON' });
  });

  test('100,000 nested arrays as a personalization are a 400', async () => {
    const body = JSON.stringify(mailBody({ personalizations: '@@' })).replace('"@@"', `[${nested(100_000, '[', ']')}]`);
    await expectRefused({ body, headers: rawJson }, { status: 400, field: null, code: 'HERALD_ERR_BAD_JSON' });
  });

  test('nesting just under the limit is parsed and validated as usual', async () => {
    const body = JSON.stringify(mailBody({ personalizations: personalization({ dynamic_template_data: '@@' }) }))
      .replace('"@@"', nested(50, '{"a":', '}', '1'));
    const res = await send({ body, headers: rawJson });
    assert.equal(res.status, 202, await res.text());
  });

  test('100,000 nested objects in dynamic_template_data are a 400 before parsing, not a 500', async () => {
    const body = JSON.stringify(mailBody({ personalizations: personalization({ dynamic_template_data: '@@' }) }))
      .replace('"@@"', nested(100_000, '{"a":', '}', '1'));
    await expectRefused({ body, headers: rawJson }, { status: 400, field: null, code: 'HERALD_ERR_BAD_JSON' });
  });

  test('the server is healthy after the hostile bodies', async () => {
    const res = await herald.api('/healthz', { key: null });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
  });
});

describe('many problems at once', () => {
  test('every problem in one request is listed in errors', async () => {
    const res = await send({
      json: {
        from: { email: 'not-an-address' },
        subject: 'Hi',
        reply_to: { email: 'r@example.com' },
        reply_to_list: [{ email: 's@example.com' }],
        personalizations: [{ to: to('ok@example.com'), cc: to('OK@example.com') }],
        content: [],
        headers: { 'DKIM-Signature': 'x' },
        categories: ['c'.repeat(256)],
        send_at: -5,
      },
    });
    assert.equal(res.status, 400);
    const errors = await readErrors(res);
    const found = Object.fromEntries(errors.map((e) => [e.field, e.code]));
    assert.deepEqual(found, {
      'from.email': 'HERALD_ERR_INVALID_EMAIL',
      reply_to_list: 'HERALD_ERR_INVALID_FIELD',
      'personalizations.0': 'HERALD_ERR_DUPLICATE_RECIPIENT',
      content: 'HERALD_ERR_MISSING_FIELD',
      'headers.DKIM-Signature': 'HERALD_ERR_RESERVED_HEADER',
      'categories.0': 'HERALD_ERR_INVALID_FIELD',
      send_at: 'HERALD_ERR_INVALID_FIELD',
    });
  });
});

describe('afterwards', () => {
  test('a valid send is still accepted and delivered, and nothing refused reached the inbox', async () => {
    const messagesBefore = await messageCount();
    const res = await send({ json: mailBody({ personalizations: [{ to: to('after@example.com') }], subject: 'still alive' }) });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');
    const id = res.headers.get('x-message-id');
    assert.ok(id);
    assert.equal(await messageCount(), messagesBefore + 1);
    // Every stored message is delivered into the inbox, and each belongs to a request answered 202.
    const total = await messageCount();
    await eventually(async () => (await inboxCount()) === total, 15000, 'every accepted message to be captured');
    const list = (await (await herald.api('/v1/inbox?limit=1000')).json()) as { messages: { msg_id: string; to: string }[] };
    for (const m of list.messages) assert.ok(accepted.includes(m.msg_id.split('.')[0]!), `unexpected capture ${m.msg_id} to ${m.to}`);
    assert.ok(list.messages.some((m) => m.msg_id === `${id}.0` && m.to === 'after@example.com'));
    assert.ok(list.messages.some((m) => m.to === 'big@example.com'));
  });
});
