import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { classifyFailure } from '../../../src/delivery/classify-reply.js';
import { SmtpPool, type SmtpPoolOptions } from '../../../src/delivery/smtp/smtp-pool.js';
import { startSmtpSink } from '../../support/smtp-sink.js';
import { closedPort, greetAndEhlo, serveTransactions, startRcptFilterServer, startScriptedServer, testConnectionOptions } from './support.js';

const RAW = Buffer.from('From: a@herald.test\r\nTo: b@example.com\r\nSubject: pooled\r\n\r\nbody\r\n');

function pool(t: { after(fn: () => Promise<void>): void }, options: Partial<SmtpPoolOptions> = {}): SmtpPool {
  const { host: _h, port: _p, ...connection } = testConnectionOptions(0);
  const p = new SmtpPool({ maxConnections: 2, ...options, connection: { ...connection, ...options.connection } });
  t.after(() => p.close());
  return p;
}

test('many messages go over a few reused connections, byte for byte, dot-stuffed lines included', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const smtp = pool(t, { maxConnections: 3 });
  const dest = { host: '127.0.0.1', port: sink.port };
  const bodies = Array.from({ length: 300 }, (_, i) =>
    Buffer.from(`Subject: message ${i}\r\n\r\n.leading dot ${i}\r\n.\r\n..two dots\r\nlast line\r\n`),
  );
  let most = 0;
  const results = await Promise.all(
    bodies.map(async (raw, i) => {
      const sent = smtp.send(dest, { from: 'sender@herald.test', to: [`rcpt${i}@example.com`], raw });
      most = Math.max(most, smtp.connections);
      return sent;
    }),
  );
  assert.equal(results.length, 300);
  assert.ok(most <= 3, `at most 3 connections, saw ${most}`);
  await sink.waitFor(300, 10_000);
  const byRecipient = new Map(sink.messages.map((m) => [m.to[0]!, m]));
  bodies.forEach((raw, i) => {
    const got = byRecipient.get(`rcpt${i}@example.com`);
    assert.ok(got, `message ${i} arrived`);
    assert.equal(got.from, 'sender@herald.test');
    assert.ok(got.raw.equals(raw), `message ${i} arrived altered: ${JSON.stringify(got.raw.toString())}`);
  });
});

test('opening many connections to one destination at once raises no listener-leak warning', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const smtp = pool(t, { maxConnections: 16 });
  const dest = { host: '127.0.0.1', port: sink.port };
  await Promise.all(Array.from({ length: 32 }, (_, i) => smtp.send(dest, { from: 'a@herald.test', to: [`r${i}@example.com`], raw: RAW })));
  assert.ok(sink.peakConnections > 10, `the pool opened ${sink.peakConnections} connections at once`);
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
});

test('8-bit UTF-8 content and a UTF-8 sender arrive intact through smtp-server (8BITMIME, SMTPUTF8)', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const smtp = pool(t);
  const raw = Buffer.from('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln, 日本語のテキスト\r\n', 'utf8');
  await smtp.send({ host: '127.0.0.1', port: sink.port }, { from: 'jörg@bücher.example', to: ['rcpt@example.com'], raw });
  await sink.waitFor(1);
  assert.equal(sink.messages[0]!.from, 'jörg@bücher.example');
  assert.ok(sink.messages[0]!.raw.equals(raw));
});

test('one recipient of two refused at RCPT TO: accepted and rejected are split, the message goes to the other', async (t) => {
  const server = await startRcptFilterServer(['gone@example.com']);
  t.after(() => server.close());
  const smtp = pool(t);
  const result = await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['gone@example.com', 'here@example.com'], raw: RAW });
  assert.deepEqual(result.accepted, ['here@example.com']);
  assert.equal(result.rejected.length, 1);
  assert.equal(result.rejected[0]!.recipient, 'gone@example.com');
  assert.equal(result.rejected[0]!.reply.code, 550);
  assert.equal(result.rejected[0]!.error.enhancedStatus, '5.1.1');
  assert.deepEqual(server.messages.map((m) => m.to), [['here@example.com']]);

  // Every recipient refused: the send fails with the refusal, and the connection carries the next one.
  const error = await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['gone@example.com'], raw: RAW }).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, 550);
  assert.equal(error.command, 'RCPT TO');
  assert.deepEqual(classifyFailure(error), { kind: 'bounced', bounceType: 'bounce', status: '5.1.1', response: error.response });
  await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['here@example.com'], raw: RAW });
  assert.equal(server.messages.length, 2);
  assert.equal(smtp.connections, 1);
});

test('a 451 after the final dot defers, and the same connection delivers the next message', async (t) => {
  let refuse = true;
  const sink = await startSmtpSink({ reply: () => (refuse ? { code: 451, message: '4.3.0 Try again later' } : null) });
  t.after(() => sink.close());
  const smtp = pool(t, { maxConnections: 1 });
  const dest = { host: '127.0.0.1', port: sink.port };
  const error = await smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW }).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, 451);
  assert.equal(error.command, 'DATA');
  assert.equal(error.mxServer, '127.0.0.1');
  assert.equal(classifyFailure(error).kind, 'deferred');
  refuse = false;
  await smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  assert.equal(sink.count, 1);
  assert.equal(smtp.connections, 1);
});

test('a connection is replaced after maxMessagesPerConnection messages, with QUIT', async (t) => {
  const quits: number[] = [];
  const server = await startScriptedServer(async (s, i) => {
    await greetAndEhlo(s);
    await serveTransactions(s);
    quits.push(i);
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1, maxMessagesPerConnection: 2 });
  for (let i = 0; i < 5; i++) await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  assert.equal(server.connections, 3);
  await smtp.close();
  await until(() => quits.length === 3);
  assert.deepEqual(quits.sort(), [0, 1, 2]);
});

/** A server that takes every transaction and, as each connection ends, notes how many it carried. */
function countingServer(carried: number[], greetingDelayMs = 0): ReturnType<typeof startScriptedServer> {
  return startScriptedServer(async (s) => {
    if (greetingDelayMs > 0) await new Promise((r) => setTimeout(r, greetingDelayMs));
    await greetAndEhlo(s);
    const received: Buffer[] = [];
    await serveTransactions(s, received);
    carried.push(received.length);
  });
}

test('connections are used up at different counts, never above maxMessagesPerConnection', async (t) => {
  const carried: number[] = [];
  const server = await countingServer(carried);
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1, maxMessagesPerConnection: 20 });
  for (let i = 0; i < 200; i++) await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  await smtp.close();
  await until(() => carried.reduce((a, b) => a + b, 0) === 200);
  // Every connection but the last was used up: at most 20 messages, and no fewer than 20 less half.
  const usedUp = carried.slice(0, -1);
  assert.ok(usedUp.length >= 9, `connections: ${carried.join(', ')}`);
  for (const n of usedUp) assert.ok(n >= 10 && n <= 20, `a connection carried ${n} messages: ${carried.join(', ')}`);
  assert.ok(new Set(usedUp).size > 1, `connections were used up at different counts: ${carried.join(', ')}`);
});

test('behind a slow greeting, every message is delivered and no connection carries more than maxMessagesPerConnection', async (t) => {
  const carried: number[] = [];
  // As smtp-server and postscreen do: the greeting comes late, while the other connections
  // carry on and a retiring one may go on up to the limit.
  const server = await countingServer(carried, 30);
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 3, maxMessagesPerConnection: 20 });
  await Promise.all(Array.from({ length: 300 }, () => smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW })));
  await smtp.close();
  await until(() => carried.reduce((a, b) => a + b, 0) === 300);
  for (const n of carried) assert.ok(n <= 20, `a connection carried ${n} messages: ${carried.join(', ')}`);
  assert.ok(carried.length >= 15, `300 messages at 20 at most each: ${carried.length} connections`);
});

test('an idle connection is closed after the idle timeout', async (t) => {
  const server = await startScriptedServer(async (s) => {
    await greetAndEhlo(s);
    await serveTransactions(s);
  });
  t.after(() => server.close());
  const smtp = pool(t, { idleTimeoutMs: 50 });
  await smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  assert.equal(smtp.connections, 1);
  await until(() => smtp.connections === 0);
});

test('sends past the queue limit fail at once with "pool queue full", and defer', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const server = await startScriptedServer(async (s) => {
    await gate;
    await greetAndEhlo(s);
    await serveTransactions(s);
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1, maxQueued: 2 });
  const dest = { host: '127.0.0.1', port: server.port };
  const first = smtp.send(dest, { from: 'a@herald.test', to: ['1@example.com'], raw: RAW });
  const second = smtp.send(dest, { from: 'a@herald.test', to: ['2@example.com'], raw: RAW });
  const error = await smtp.send(dest, { from: 'a@herald.test', to: ['3@example.com'], raw: RAW }).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.match(error.response, /pool queue full/);
  assert.equal(error.replyCode, null);
  assert.equal(classifyFailure(error).kind, 'deferred');
  release();
  await Promise.all([first, second]);
});

test('a destination that refuses connections fails every waiting send without a reply code', async (t) => {
  const port = await closedPort();
  const smtp = pool(t, { maxConnections: 2 });
  const sends = Array.from({ length: 5 }, (_, i) => smtp.send({ host: '127.0.0.1', port }, { from: 'a@herald.test', to: [`${i}@example.com`], raw: RAW }).catch((e: unknown) => e));
  for (const error of await Promise.all(sends)) {
    assert.ok(error instanceof DeliveryError);
    assert.equal(error.replyCode, null);
    assert.match(error.response, /ECONNREFUSED/);
  }
  assert.equal(smtp.connections, 0);
});

test('a connection closed by a 421 is not reused: the next send opens a new one', async (t) => {
  const server = await startScriptedServer(async (s, i) => {
    await greetAndEhlo(s);
    if (i === 0) {
      for (let n = 0; n < 3; n++) await s.readLine();
      s.write('421 4.7.0 Closing\r\n');
      s.socket.end();
      return;
    }
    await serveTransactions(s);
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1 });
  const dest = { host: '127.0.0.1', port: server.port };
  const error = await smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW }).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, 421);
  await smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  assert.equal(server.connections, 2);
});

test('close() lets running sends finish, then refuses new ones', async (t) => {
  const sink = await startSmtpSink({ onData: () => new Promise((resolve) => setTimeout(resolve, 100)) });
  t.after(() => sink.close());
  const smtp = pool(t);
  const dest = { host: '127.0.0.1', port: sink.port };
  const running = smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW });
  await new Promise((resolve) => setTimeout(resolve, 50));
  await smtp.close(5000);
  await running;
  assert.equal(sink.count, 1);
  const error = await smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW }).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.match(error.response, /closed/);
  assert.equal(smtp.connections, 0);
});

test('close() cuts a send stuck past the grace period, and the send waiting behind it on the same connection', async (t) => {
  let hungUp: Promise<void> = Promise.resolve();
  const server = await startScriptedServer(async (s) => {
    hungUp = s.closed;
    await greetAndEhlo(s);
    for (let n = 0; n < 3; n++) await s.readLine();
    s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
    await s.closed; // never answers the data
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1 });
  const dest = { host: '127.0.0.1', port: server.port };
  const stuck = smtp.send(dest, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW }).catch((e: unknown) => e);
  const behind = smtp.send(dest, { from: 'a@herald.test', to: ['c@example.com'], raw: RAW }).catch((e: unknown) => e);
  await until(() => server.connections === 1);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await smtp.close(100);
  for (const error of [await stuck, await behind]) {
    assert.ok(error instanceof DeliveryError, String(error));
    assert.equal(error.replyCode, null);
  }
  await hungUp;
});

test('close() gives up on a connection still waiting for its greeting', async (t) => {
  let hungUp: Promise<void> = Promise.resolve();
  const server = await startScriptedServer(async (s) => {
    hungUp = s.closed;
    await s.closed; // never greets
  });
  t.after(() => server.close());
  const smtp = pool(t);
  const waiting = smtp.send({ host: '127.0.0.1', port: server.port }, { from: 'a@herald.test', to: ['b@example.com'], raw: RAW }).catch((e: unknown) => e);
  await until(() => server.connections === 1);
  await smtp.close(50);
  const error = await waiting;
  assert.ok(error instanceof DeliveryError, String(error));
  assert.match(error.response, /closed/);
  await hungUp;
  assert.equal(smtp.connections, 0);
});

test('with PIPELINING, the commands of the next message follow the data of the previous one in the same write', async (t) => {
  const chunks: string[] = [];
  const server = await startScriptedServer(async (s) => {
    await greetAndEhlo(s);
    s.socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString('latin1')));
    await serveTransactions(s);
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1 });
  const dest = { host: '127.0.0.1', port: server.port };
  await Promise.all([1, 2, 3].map((i) => smtp.send(dest, { from: 'a@herald.test', to: [`${i}@example.com`], raw: RAW })));
  assert.equal(server.connections, 1);
  const joined = chunks.join('');
  // RFC 2920 §3.1: message content may open a group; MAIL, RCPT and DATA follow it.
  assert.ok(joined.includes('body\r\n.\r\nMAIL FROM:<a@herald.test>\r\n'), 'no MAIL FROM right after a final dot');
  assert.ok(chunks.some((c) => /\r\n\.\r\nMAIL FROM:.*\r\nRCPT TO:.*\r\nDATA\r\n$/.test(c)), `no chunk holds a final dot and the next group: ${JSON.stringify(chunks)}`);
});

test('a send waiting behind a transaction whose connection dies is sent on another connection', async (t) => {
  const received: Buffer[] = [];
  const server = await startScriptedServer(async (s, i) => {
    await greetAndEhlo(s);
    if (i === 0) {
      for (let n = 0; n < 3; n++) await s.readLine();
      s.write('250 Ok\r\n250 Ok\r\n');
      s.socket.destroy(); // before the 354: the second send has not been written yet
      return;
    }
    await serveTransactions(s, received);
  });
  t.after(() => server.close());
  const smtp = pool(t, { maxConnections: 1 });
  const dest = { host: '127.0.0.1', port: server.port };
  const first = smtp.send(dest, { from: 'a@herald.test', to: ['1@example.com'], raw: RAW }).catch((e: unknown) => e);
  const second = smtp.send(dest, { from: 'a@herald.test', to: ['2@example.com'], raw: RAW });
  assert.ok((await first) instanceof DeliveryError);
  const result = await second;
  assert.deepEqual(result.accepted, ['2@example.com']);
  assert.equal(received.length, 1);
  assert.equal(server.connections, 2);
});

/** Waits for `condition`, failing after `ms` rather than hanging the suite. */
async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
