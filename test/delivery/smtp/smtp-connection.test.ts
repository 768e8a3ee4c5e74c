import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { classifyFailure } from '../../../src/delivery/classify-reply.js';
import { SmtpConnection } from '../../../src/delivery/smtp/smtp-connection.js';
import { closedPort, greetAndEhlo, serveTransactions, startScriptedServer, testConnectionOptions, type ScriptedServer, type ScriptedSession } from './support.js';

const MESSAGE = { from: 'sender@herald.test', to: ['rcpt@example.com'], raw: Buffer.from('Subject: hi\r\n\r\nhello\r\n') };

async function scripted(t: { after(fn: () => Promise<void>): void }, script: (s: ScriptedSession, i: number) => Promise<void>): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  t.after(() => server.close());
  return server;
}

/** Resolves to the rejection of `promise`, failing the test if it resolves. */
async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${String(error)}`);
  return error;
}

test('a greeting split across chunks and a multi-line EHLO split mid-line are read whole', async (t) => {
  const received: Buffer[] = [];
  const server = await scripted(t, async (s) => {
    await s.writeInPieces(['22', '0 scripted.test', ' ESMTP ready\r', '\n']);
    await s.readLine();
    await s.writeInPieces(['250-scripted.test\r\n250-PIPE', 'LINING\r\n250-SIZE 1000', '000\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTP', 'UTF8\r\n']);
    await serveTransactions(s, received);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  assert.equal(conn.greeting, '220 scripted.test ESMTP ready');
  assert.equal(conn.extensions.pipelining, true);
  assert.equal(conn.extensions.size, 1_000_000);
  assert.equal(conn.extensions.smtpUtf8, true);
  assert.equal(conn.extensions.enhancedStatusCodes, true);
  assert.equal(conn.extensions.eightBitMime, false);
  const result = await conn.send(MESSAGE);
  assert.equal(result.response, '250 2.0.0 Ok: queued');
  assert.deepEqual(result.accepted, ['rcpt@example.com']);
  assert.equal(received[0]!.toString(), 'Subject: hi\r\n\r\nhello\r\n');
});

test('with PIPELINING, MAIL, every RCPT and DATA leave in one write', async (t) => {
  const groups: string[][] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['PIPELINING', 'SIZE 0', '8BITMIME']);
    const group: string[] = [];
    do group.push(await s.readLine());
    while (!group.at(-1)!.startsWith('DATA'));
    groups.push(group);
    s.write('250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n');
    await s.readData();
    s.write('250 2.0.0 queued\r\n');
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  const raw = Buffer.from('Subject: Grüße\r\n\r\nü\r\n', 'utf8');
  await conn.send({ from: 'a@herald.test', to: ['b@example.com', 'c@example.com'], raw });
  // SIZE 0 means "no fixed limit" (RFC 1870 §3) but still takes SIZE=; 8-bit content is declared.
  assert.deepEqual(groups, [[`MAIL FROM:<a@herald.test> SIZE=${raw.length} BODY=8BITMIME`, 'RCPT TO:<b@example.com>', 'RCPT TO:<c@example.com>', 'DATA']]);
});

test('without PIPELINING, each command waits for the reply to the one before (lockstep)', async (t) => {
  const early: string[] = [];
  const received: Buffer[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['8BITMIME']);
    for (;;) {
      const line = await s.readLine();
      if (s.hasMore) early.push(line);
      if (line.startsWith('MAIL') || line.startsWith('RCPT')) s.write('250 Ok\r\n');
      else if (line === 'DATA') {
        s.write('354 go\r\n');
        received.push(await s.readData());
        s.write('250 queued\r\n');
        break;
      }
    }
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  const result = await conn.send({ ...MESSAGE, to: ['x@example.com', 'y@example.com'] });
  assert.deepEqual(result.accepted, ['x@example.com', 'y@example.com']);
  assert.deepEqual(early, [], 'no command was sent before the previous reply');
  assert.equal(received.length, 1);
});

test('a server that answers EHLO with 502 is greeted with HELO and used without extensions', async (t) => {
  const commands: string[] = [];
  const server = await scripted(t, async (s) => {
    s.write('220 old.test SMTP\r\n');
    commands.push(await s.readLine());
    s.write('502 5.5.2 Command not recognized\r\n');
    commands.push(await s.readLine());
    s.write('250 old.test\r\n');
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  assert.deepEqual(commands, ['EHLO client.herald.test', 'HELO client.herald.test']);
  assert.equal(conn.extensions.pipelining, false);
  await conn.send(MESSAGE);
});

test('garbage instead of a reply is a protocol error without a reply code, so it defers', async (t) => {
  const server = await scripted(t, async (s) => {
    s.write('\x16\x03\x01\x00\xa5HTTP/1.1 400 Bad Request\r\n');
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port)));
  assert.equal(error.replyCode, null);
  assert.match(error.response, /protocol error: malformed SMTP reply line/);
  assert.equal(error.command, 'GREETING');
  assert.equal(error.mxServer, '127.0.0.1');
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('a 421 greeting fails the connection with the reply, and defers', async (t) => {
  const server = await scripted(t, async (s) => {
    s.write('421 4.3.2 Service shutting down\r\n');
    s.socket.end();
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port)));
  assert.equal(error.replyCode, 421);
  assert.equal(error.enhancedStatus, '4.3.2');
  assert.equal(error.response, '421 4.3.2 Service shutting down');
  assert.equal(error.command, 'GREETING');
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('a 554 greeting gets a QUIT and fails with the reply; a refused session defers rather than bounces', async (t) => {
  let said = '';
  const server = await scripted(t, async (s) => {
    s.write('554 5.7.1 No SMTP service here\r\n');
    said = await s.readLine();
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port)));
  assert.equal(error.replyCode, 554);
  assert.equal(error.command, 'GREETING');
  // classify-reply.ts: a refusal of the session says nothing about the recipient.
  assert.equal(classifyFailure(error).kind, 'deferred');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(said, 'QUIT');
});

test('a greeting slower than the greeting timeout fails and the client hangs up', async (t) => {
  let hungUp: Promise<void> = Promise.resolve();
  const server = await scripted(t, async (s) => {
    hungUp = s.closed;
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port, { timeouts: { greeting: 100 } })));
  assert.equal(error.replyCode, null);
  assert.match(error.response, /ETIMEDOUT.*no reply to GREETING/);
  await hungUp;
});

test('a reply line over the limit is refused as a protocol error', async (t) => {
  const server = await scripted(t, async (s) => {
    s.write(`220 ${'x'.repeat(5000)}\r\n`);
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port)));
  assert.equal(error.replyCode, null);
  assert.match(error.response, /protocol error: SMTP reply line longer than 2000 bytes/);
});

test('a server that never answers the final dot times out, and the connection is destroyed', async (t) => {
  let hungUp: Promise<void> = Promise.resolve();
  const server = await scripted(t, async (s) => {
    hungUp = s.closed;
    await greetAndEhlo(s);
    for (let i = 0; i < 3; i++) await s.readLine();
    s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
    await s.readData();
    await s.closed;
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port, { timeouts: { dataEnd: 150 } }));
  const error = await failure(conn.send(MESSAGE));
  assert.equal(error.replyCode, null);
  assert.equal(error.command, 'DATA');
  assert.match(error.response, /no reply to DATA/);
  assert.equal(conn.open, false);
  assert.equal(conn.usable, false);
  await hungUp;
  await failure(conn.send(MESSAGE));
});

test('a refused connection is a DeliveryError without a reply code naming ECONNREFUSED', async () => {
  const port = await closedPort();
  const error = await failure(SmtpConnection.open(testConnectionOptions(port)));
  assert.equal(error.replyCode, null);
  assert.match(error.response, /ECONNREFUSED/);
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('a recipient refused in a pipelined group is reported apart while the others get the message', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (let i = 0; i < 4; i++) await s.readLine();
    s.write('250 Ok\r\n550 5.1.1 No such user\r\n250 Ok\r\n354 go\r\n');
    await s.readData();
    s.write('250 queued\r\n');
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  const result = await conn.send({ ...MESSAGE, to: ['gone@example.com', 'here@example.com'] });
  assert.deepEqual(result.accepted, ['here@example.com']);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]!.recipient, 'gone@example.com');
  assert.equal(result.rejected[0]!.error.replyCode, 550);
  assert.equal(classifyFailure(result.rejected[0]!.error).kind, 'bounced');
});

test('a refused MAIL FROM whose DATA was still answered 354 gets a lone dot and RSET, and the connection is reused', async (t) => {
  const after: string[] = [];
  const received: Buffer[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (let i = 0; i < 3; i++) await s.readLine();
    // A server that answers DATA regardless (RFC 2920 §3.1 asks the client to cope).
    s.write('550 5.7.1 Sender refused\r\n503 5.5.1 need MAIL\r\n354 go\r\n');
    const dot = await s.readData();
    after.push(`data:${JSON.stringify(dot.toString())}`);
    s.write('554 5.5.1 no valid recipients\r\n');
    after.push(await s.readLine());
    s.write('250 2.0.0 Reset\r\n');
    await serveTransactions(s, received);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  const error = await failure(conn.send(MESSAGE));
  assert.equal(error.replyCode, 550);
  assert.equal(error.command, 'MAIL FROM');
  assert.deepEqual(after, ['data:""', 'RSET']);
  assert.equal(conn.usable, true);
  await conn.send(MESSAGE);
  assert.equal(received.length, 1);
});

test('a 421 to MAIL FROM closes the connection (RFC 5321 §3.8)', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (let i = 0; i < 3; i++) await s.readLine();
    s.write('421 4.7.0 Too many connections\r\n');
    s.socket.end();
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  const error = await failure(conn.send(MESSAGE));
  assert.equal(error.replyCode, 421);
  assert.equal(error.command, 'MAIL FROM');
  assert.equal(conn.open, false);
});

test('a 421 while the connection is idle closes it', async (t) => {
  let idleClose: () => void = () => {};
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    await new Promise<void>((resolve) => (idleClose = resolve));
    s.write('421 4.4.2 Idle timeout\r\n');
    s.socket.end();
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  const closed = new Promise<void>((resolve) => conn.onClose(() => resolve()));
  idleClose();
  await closed;
  assert.equal(conn.usable, false);
});

test('the server closing the connection in the middle of DATA fails the send without a reply code', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (let i = 0; i < 3; i++) await s.readLine();
    s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
    await new Promise((resolve) => s.socket.once('data', resolve));
    s.socket.destroy();
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  const big = Buffer.from(`Subject: big\r\n\r\n${'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n'.repeat(20_000)}`);
  const error = await failure(conn.send({ ...MESSAGE, raw: big }));
  assert.equal(error.replyCode, null);
  assert.equal(error.command, 'DATA');
  assert.equal(classifyFailure(error).kind, 'deferred');
  assert.equal(conn.open, false);
});

test('an address with CR, LF or angle brackets is refused before anything is written', async (t) => {
  const commands: string[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (;;) {
      const line = await s.readLine().catch(() => null);
      if (line === null) return;
      commands.push(line);
      if (line === 'QUIT') s.write('221 bye\r\n');
    }
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  for (const [from, to] of [
    ['a@herald.test', 'victim@example.com>\r\nRCPT TO:<other@example.com'],
    ['a@herald.test\r\nRSET', 'b@example.com'],
    ['a@herald.test', 'b@example.com\n'],
    ['<a@herald.test>', 'b@example.com'],
    ['a@herald.test', ''],
  ] as const) {
    const error = await failure(conn.send({ from, to: [to], raw: MESSAGE.raw }));
    assert.equal(error.replyCode, 553);
    assert.equal(classifyFailure(error).kind, 'bounced');
  }
  assert.equal(conn.usable, true);
  await conn.quit();
  assert.deepEqual(commands, ['QUIT']);
});

test('a message over the SIZE the server announced is refused without being sent (RFC 1870)', async (t) => {
  const commands: string[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['PIPELINING', 'SIZE 100']);
    const line = await s.readLine().catch(() => null);
    if (line !== null) commands.push(line);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  t.after(() => conn.quit());
  const error = await failure(conn.send({ ...MESSAGE, raw: Buffer.alloc(200, 'a') }));
  assert.equal(error.replyCode, 552);
  assert.equal(error.enhancedStatus, '5.3.4');
  assert.equal(conn.usable, true);
});

test('international addresses: SMTPUTF8 when offered, else an A-label domain, else a permanent refusal', async (t) => {
  const mails: string[] = [];
  const server = await scripted(t, async (s, i) => {
    await greetAndEhlo(s, i === 0 ? ['PIPELINING', '8BITMIME', 'SMTPUTF8'] : ['PIPELINING', '8BITMIME']);
    for (;;) {
      const line = await s.readLine().catch(() => null);
      if (line === null) return;
      if (line.startsWith('MAIL')) mails.push(line);
      if (line.startsWith('RCPT')) mails.push(line);
      if (line === 'DATA') {
        s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
        await s.readData();
        s.write('250 queued\r\n');
      } else if (line === 'QUIT') s.write('221 bye\r\n');
    }
  });
  const utf8 = await SmtpConnection.open(testConnectionOptions(server.port));
  await utf8.send({ from: 'jörg@bücher.example', to: ['用户@例子.example'], raw: MESSAGE.raw });
  await utf8.quit();
  const ascii = await SmtpConnection.open(testConnectionOptions(server.port));
  await ascii.send({ from: 'news@bücher.example', to: ['rcpt@example.com'], raw: MESSAGE.raw });
  const error = await failure(ascii.send({ from: 'news@herald.test', to: ['用户@例子.example'], raw: MESSAGE.raw }));
  assert.equal(error.replyCode, 553);
  assert.equal(error.enhancedStatus, '5.6.7');
  await ascii.quit();
  assert.deepEqual(mails, [
    'MAIL FROM:<jörg@bücher.example> SMTPUTF8',
    'RCPT TO:<用户@例子.example>',
    'MAIL FROM:<news@xn--bcher-kva.example>',
    'RCPT TO:<rcpt@example.com>',
  ]);
});

test('bytes injected after the 220 to STARTTLS are refused, never read as replies (RFC 3207 §5)', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['PIPELINING', 'STARTTLS']);
    await s.readLine();
    s.write('220 2.0.0 Ready to start TLS\r\n250-injected\r\n');
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port)));
  assert.equal(error.replyCode, null);
  assert.match(error.response, /before the TLS handshake/);
});

test('tls required fails when STARTTLS is not offered; credentials are never sent in clear', async (t) => {
  const commands: string[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['PIPELINING', 'AUTH PLAIN LOGIN']);
    const line = await s.readLine().catch(() => null);
    if (line !== null) commands.push(line);
    await s.closed;
  });
  const required = await failure(SmtpConnection.open(testConnectionOptions(server.port, { tls: 'required' })));
  assert.match(required.response, /TLS required/);
  const auth = await failure(SmtpConnection.open(testConnectionOptions(server.port, { auth: { user: 'u', pass: 'secret' } })));
  assert.match(auth.response, /not encrypted/);
  assert.equal(auth.replyCode, null);
  assert.ok(!commands.some((c) => c.startsWith('AUTH')), `sent ${commands.join(', ')}`);
});

test('AUTH LOGIN is used when PLAIN is not offered, and may go in clear when explicitly allowed', async (t) => {
  const exchange: string[] = [];
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['AUTH LOGIN']);
    exchange.push(await s.readLine());
    s.write('334 VXNlcm5hbWU6\r\n');
    exchange.push(Buffer.from(await s.readLine(), 'base64').toString());
    s.write('334 UGFzc3dvcmQ6\r\n');
    exchange.push(Buffer.from(await s.readLine(), 'base64').toString());
    s.write('235 2.7.0 Authentication successful\r\n');
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port, { auth: { user: 'relay-user', pass: 'pässword' }, allowInsecureAuth: true }));
  t.after(() => conn.quit());
  assert.deepEqual(exchange, ['AUTH LOGIN', 'relay-user', 'pässword']);
  await conn.send(MESSAGE);
});

test('QUIT is said on close and the connection ends', async (t) => {
  let last = '';
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    last = await s.readLine();
    s.write('221 2.0.0 Bye\r\n');
    await s.closed;
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port));
  await conn.quit();
  assert.equal(last, 'QUIT');
  assert.equal(conn.open, false);
});

test('an opportunistic STARTTLS whose handshake fails is retried once in clear when certificates are not verified', async (t) => {
  const said: string[][] = [];
  const server = await scripted(t, async (s, i) => {
    const lines: string[] = [];
    said.push(lines);
    await greetAndEhlo(s, ['PIPELINING', 'STARTTLS']);
    if (i === 0) {
      lines.push(await s.readLine());
      s.write('220 2.0.0 Ready to start TLS\r\n');
      await new Promise((resolve) => s.socket.once('data', resolve));
      s.write('this is not TLS\r\n');
      await s.closed;
      return;
    }
    await serveTransactions(s);
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port, { rejectUnauthorized: false }));
  t.after(() => conn.quit());
  assert.equal(server.connections, 2);
  assert.equal(conn.encrypted, false);
  assert.deepEqual(said[0], ['STARTTLS']);
  await conn.send(MESSAGE);
});

test('with certificate verification on, a failed STARTTLS handshake is an error, never a fallback to clear', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s, ['PIPELINING', 'STARTTLS']);
    await s.readLine();
    s.write('220 2.0.0 Ready to start TLS\r\n');
    await new Promise((resolve) => s.socket.once('data', resolve));
    s.write('this is not TLS\r\n');
    await s.closed;
  });
  const error = await failure(SmtpConnection.open(testConnectionOptions(server.port, { rejectUnauthorized: true })));
  assert.equal(error.replyCode, null);
  assert.equal(error.command, 'STARTTLS');
  assert.equal(server.connections, 1);
});

test('a server that stops taking message data fails the send after the data-block timeout', async (t) => {
  const server = await scripted(t, async (s) => {
    await greetAndEhlo(s);
    for (let i = 0; i < 3; i++) await s.readLine();
    s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
    s.socket.pause(); // reads nothing more: the client's writes back up
    await s.closed;
  });
  const conn = await SmtpConnection.open(testConnectionOptions(server.port, { timeouts: { dataBlock: 150 } }));
  const line = 'x'.repeat(998) + '\r\n';
  const huge = Buffer.from(`Subject: huge\r\n\r\n${line.repeat(40_000)}`); // 40 MB, more than loopback buffers hold
  const error = await failure(conn.send({ ...MESSAGE, raw: huge }));
  assert.equal(error.replyCode, null);
  assert.equal(error.command, 'DATA');
  assert.match(error.response, /timed out after 150 ms waiting for the server to take a block of message data/);
  assert.equal(conn.open, false);
});
