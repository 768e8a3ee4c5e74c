import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { classifyFailure } from '../../../src/delivery/classify-reply.js';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { SmtpConnection } from '../../../src/delivery/smtp/smtp-connection.js';
import { SmtpPool } from '../../../src/delivery/smtp/smtp-pool.js';
import { SmtpTransport } from '../../../src/delivery/smtp/smtp-transport.js';
import { defaultConfig } from '../../../src/config/settings.js';
import { startPostfix, type PostfixInstance } from '../../support/postfix.js';
import { testConnectionOptions } from './support.js';

// One Postfix for the file: starting it takes about a second.
let postfix: PostfixInstance;
before(async () => {
  postfix = await startPostfix({ mailboxes: ['ann', 'bob', 'utf8', 'relay'] });
});
after(() => postfix?.stop());

function body(subject: string, text: string): Buffer {
  // Date and Message-ID present, so Postfix's cleanup adds neither and the stored copy can be compared.
  return Buffer.from(
    `From: Herald <news@sender.example>\r\nTo: ann@herald.test\r\nSubject: ${subject}\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@sender.example>\r\n\r\n${text}`,
    'utf8',
  );
}

/** The message as Postfix stored it, from the first header Herald wrote on (Postfix prepends its own). */
function asSent(stored: Buffer): string {
  const text = stored.toString('utf8').replace(/\n/g, '\r\n');
  return text.slice(text.indexOf('From: Herald'));
}

test('Postfix takes pipelined messages over STARTTLS and delivers them byte for byte, dot lines included', async () => {
  const pool = new SmtpPool({ maxConnections: 2, connection: { ...testConnectionOptions(postfix.port), tls: 'required', rejectUnauthorized: false } });
  try {
    const messages = Array.from({ length: 20 }, (_, i) => body(`postfix ${i}`, `.leading dot ${i}\r\n.\r\n..two\r\nend\r\n`));
    await Promise.all(messages.map((raw) => pool.send({ host: '127.0.0.1', port: postfix.port }, { from: 'news@sender.example', to: ['ann@herald.test'], raw })));
    const stored = await postfix.waitForDelivery('ann', 20);
    const got = new Set(stored.map(asSent));
    for (const raw of messages) assert.ok(got.has(raw.toString('utf8')), `missing or altered: ${raw.toString('utf8')}`);
  } finally {
    await pool.close();
  }
});

test('Postfix advertises what the client relies on, and the session is encrypted after STARTTLS', async () => {
  const conn = await SmtpConnection.open({ ...testConnectionOptions(postfix.port), rejectUnauthorized: false });
  try {
    assert.equal(conn.encrypted, true);
    assert.equal(conn.extensions.pipelining, true);
    assert.equal(conn.extensions.eightBitMime, true);
    assert.equal(conn.extensions.smtpUtf8, true);
    assert.equal(conn.extensions.enhancedStatusCodes, true);
    assert.equal(conn.extensions.size, 10_240_000);
    assert.equal(conn.extensions.startTls, false, 'STARTTLS is no longer offered once in TLS');
  } finally {
    await conn.quit();
  }
});

test('Postfix refusing one recipient of two at RCPT TO: the other still gets the message', async () => {
  const conn = await SmtpConnection.open({ ...testConnectionOptions(postfix.port), rejectUnauthorized: false });
  try {
    const raw = body('split', 'for bob only\r\n');
    const result = await conn.send({ from: 'news@sender.example', to: ['nobody@herald.test', 'bob@herald.test'], raw });
    assert.deepEqual(result.accepted, ['bob@herald.test']);
    assert.equal(result.rejected[0]!.recipient, 'nobody@herald.test');
    assert.equal(result.rejected[0]!.error.replyCode, 550);
    assert.equal(result.rejected[0]!.error.enhancedStatus, '5.1.1');
    assert.deepEqual(classifyFailure(result.rejected[0]!.error), { kind: 'bounced', bounceType: 'bounce', status: '5.1.1', response: result.rejected[0]!.error.response });
    const stored = await postfix.waitForDelivery('bob', 1);
    assert.equal(asSent(stored[0]!), raw.toString('utf8'));

    // All refused: a DeliveryError, and the same session then carries a good message.
    const error = await conn.send({ from: 'news@sender.example', to: ['nobody@herald.test'], raw }).catch((e: unknown) => e);
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.replyCode, 550);
    assert.equal(conn.usable, true);
    await conn.send({ from: 'news@sender.example', to: ['bob@herald.test'], raw });
    await postfix.waitForDelivery('bob', 2);
  } finally {
    await conn.quit();
  }
});

test('Postfix takes 8-bit UTF-8 content with BODY=8BITMIME and a UTF-8 sender with SMTPUTF8', async () => {
  const conn = await SmtpConnection.open({ ...testConnectionOptions(postfix.port), rejectUnauthorized: false });
  try {
    const raw = body('utf8', 'Grüße aus Köln, 日本語\r\n');
    await conn.send({ from: 'jörg@bücher.example', to: ['utf8@herald.test'], raw });
    const stored = await postfix.waitForDelivery('utf8', 1);
    assert.equal(asSent(stored[0]!), raw.toString('utf8'));
    assert.match(stored[0]!.toString('utf8'), /^Return-Path: <jörg@bücher\.example>/);
  } finally {
    await conn.quit();
  }
});

test('a message over the SIZE Postfix announced is refused before it is sent, permanently', async () => {
  const conn = await SmtpConnection.open({ ...testConnectionOptions(postfix.port), rejectUnauthorized: false });
  try {
    const error = await conn.send({ from: 'news@sender.example', to: ['ann@herald.test'], raw: Buffer.alloc(10_240_001, 'a') }).catch((e: unknown) => e);
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.replyCode, 552);
    assert.equal(classifyFailure(error).kind, 'bounced');
  } finally {
    await conn.quit();
  }
});

test('SmtpTransport relays through Postfix as a smarthost', async () => {
  const relay = new SmtpTransport({ ...defaultConfig(), smtpRelay: `smtp://127.0.0.1:${postfix.port}`, smtpRelayTlsVerify: false, hostname: 'herald.test' });
  try {
    const raw = body('relayed', 'through the smarthost\r\n');
    const result = await relay.send({ accountId: 'acct', messageId: 'm1', envelope: { from: 'news@sender.example', to: 'relay@herald.test' }, raw });
    assert.match(result.response, /^250 2\.0\.0 Ok: queued as \w+/);
    assert.equal(result.mxServer, '127.0.0.1');
    const stored = await postfix.waitForDelivery('relay', 1);
    assert.equal(asSent(stored[0]!), raw.toString('utf8'));
  } finally {
    await relay.close();
  }
});
