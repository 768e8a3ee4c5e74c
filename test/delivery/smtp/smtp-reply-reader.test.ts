import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReply, MAX_REPLY_LINE, SmtpProtocolError, SmtpReplyReader } from '../../../src/delivery/smtp/smtp-reply-reader.js';

const EHLO = '250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n';

test('a multi-line reply fed one byte at a time comes out whole', async () => {
  const reader = new SmtpReplyReader();
  for (const byte of Buffer.from(EHLO)) reader.push(Buffer.from([byte]));
  assert.deepEqual(await reader.next(), { code: 250, lines: ['mx.example.com Hello', 'PIPELINING', 'SIZE 10240000', '8BITMIME'] });
});

test('several pipelined replies in one chunk come out one by one, in order', async () => {
  const reader = new SmtpReplyReader();
  const waiting = reader.next();
  reader.push(Buffer.from('250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n354 go ahead\r\n'));
  assert.equal((await waiting).code, 250);
  assert.equal((await reader.next()).code, 550);
  assert.equal((await reader.next()).code, 354);
  assert.equal(reader.unread, 0);
});

test('a bare code and an LF-only line end are accepted', async () => {
  const reader = new SmtpReplyReader();
  reader.push(Buffer.from('250\n221 bye\n'));
  assert.deepEqual(await reader.next(), { code: 250, lines: [''] });
  assert.deepEqual(await reader.next(), { code: 221, lines: ['bye'] });
});

test('bytes that are not a reply fail every waiting and later read with a protocol error', async () => {
  const reader = new SmtpReplyReader();
  const waiting = reader.next();
  reader.push(Buffer.from('HTTP/1.1 400 Bad Request\r\n'));
  await assert.rejects(waiting, SmtpProtocolError);
  await assert.rejects(reader.next(), /malformed SMTP reply line/);
});

test('a 1xx code or a code followed by another character is refused', async () => {
  for (const line of ['150 ok\r\n', '2500 ok\r\n', '25 ok\r\n', '250x ok\r\n', '\r\n']) {
    const reader = new SmtpReplyReader();
    reader.push(Buffer.from(line));
    await assert.rejects(reader.next(), SmtpProtocolError, JSON.stringify(line));
  }
});

test('a reply line over the limit is refused, even before its line end arrives', async () => {
  const complete = new SmtpReplyReader();
  complete.push(Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE)}\r\n`));
  await assert.rejects(complete.next(), /longer than/);
  const endless = new SmtpReplyReader();
  endless.push(Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE)}`));
  await assert.rejects(endless.next(), /longer than/);
  const fits = new SmtpReplyReader();
  fits.push(Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE - 4)}\r\n`));
  assert.equal((await fits.next()).code, 250);
});

test('a reply that never ends its continuation lines is refused', async () => {
  const reader = new SmtpReplyReader();
  reader.push(Buffer.from('250-more\r\n'.repeat(2000)));
  await assert.rejects(reader.next(), /lines/);
});

test('a formatted reply keeps the code and drops the repeated enhanced status of continuation lines', () => {
  assert.equal(formatReply({ code: 550, lines: ['5.7.1 Message rejected', '5.7.1 see https://example.com/why'] }), '550 5.7.1 Message rejected see https://example.com/why');
  assert.equal(formatReply({ code: 250, lines: [''] }), '250');
});
