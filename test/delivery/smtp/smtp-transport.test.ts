import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultConfig } from '../../../src/config/settings.js';
import { classifyFailure } from '../../../src/delivery/classify-reply.js';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { SmtpTransport, type SmtpTransportConfig } from '../../../src/delivery/smtp/smtp-transport.js';
import type { OutgoingMessage } from '../../../src/delivery/transport.js';
import { startSmtpSink } from '../../support/smtp-sink.js';
import { greetAndEhlo, serveTransactions, startRcptFilterServer, startScriptedServer } from './support.js';

function config(smtpRelay: string, overrides: Partial<SmtpTransportConfig> = {}): SmtpTransportConfig {
  return { ...defaultConfig(), smtpRelay, hostname: 'herald.test', smtpPoolSize: 2, smtpConnectTimeoutMs: 5000, smtpGreetingTimeoutMs: 5000, smtpSocketTimeoutMs: 5000, ...overrides };
}

function message(i = 0): OutgoingMessage {
  return {
    accountId: 'acct',
    messageId: `msg-${i}`,
    envelope: { from: 'news@sender.example', to: `rcpt${i}@example.com` },
    raw: Buffer.from(`From: news@sender.example\r\nTo: rcpt${i}@example.com\r\nSubject: ${i}\r\n\r\nhello ${i}\r\n`),
  };
}

function transport(t: { after(fn: () => Promise<void>): void }, cfg: SmtpTransportConfig): SmtpTransport {
  const tr = new SmtpTransport(cfg);
  t.after(() => tr.close());
  return tr;
}

test('a relay that requires STARTTLS and AUTH PLAIN gets the messages, credentials decoded from the URL', async (t) => {
  const auth = { user: 'relay-user', pass: 's3cret/with:odd@chars' };
  const sink = await startSmtpSink({ startTls: true, auth });
  t.after(() => sink.close());
  const url = `smtp://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@127.0.0.1:${sink.port}`;
  const relay = transport(t, config(url, { smtpRelayTlsVerify: false }));
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => relay.send(message(i))));
  // The sink refuses AUTH before STARTTLS, so an accepted message proves TLS then AUTH happened.
  assert.equal(sink.count, 5);
  assert.match(results[0]!.response, /^250 /);
  assert.equal(results[0]!.mxServer, '127.0.0.1');
  assert.deepEqual(sink.messages.map((m) => m.to[0]).sort(), [0, 1, 2, 3, 4].map((i) => `rcpt${i}@example.com`));
  for (const got of sink.messages) {
    const i = Number(/^rcpt(\d)@/.exec(got.to[0]!)![1]);
    assert.ok(got.raw.equals(message(i).raw), `message ${i} arrived altered`);
  }
});

test('a wrong relay password fails with the 535 reply, class 5, on the AUTH command', async (t) => {
  const sink = await startSmtpSink({ startTls: true, auth: { user: 'relay-user', pass: 'right' } });
  t.after(() => sink.close());
  const relay = transport(t, config(`smtp://relay-user:wrong@127.0.0.1:${sink.port}`, { smtpRelayTlsVerify: false }));
  const error = await relay.send(message()).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, 535);
  assert.match(error.command ?? '', /^AUTH/);
  assert.match(error.response, /^535 /);
  // classify-reply.ts defers refusals of the session (AUTH included): Herald's config, not the recipient.
  assert.equal(classifyFailure(error).kind, 'deferred');
  assert.ok(!error.response.includes('wrong') && !error.message.includes('wrong'), 'the password never appears in the error');
  assert.equal(sink.count, 0);
});

test('with smtpRelayTlsVerify on, an untrusted certificate fails the delivery and nothing goes in clear', async (t) => {
  const sink = await startSmtpSink({ startTls: true, auth: { user: 'u', pass: 'p' } });
  t.after(() => sink.close());
  const relay = transport(t, config(`smtp://u:p@127.0.0.1:${sink.port}`, { smtpRelayTlsVerify: true }));
  const error = await relay.send(message()).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, null);
  assert.match(error.response, /certificate/i);
  assert.equal(sink.count, 0);
});

test('an smtps:// relay is spoken to in TLS from the first byte', async (t) => {
  const server = await startRcptFilterServer([], { secure: true });
  t.after(() => server.close());
  const relay = transport(t, config(`smtps://127.0.0.1:${server.port}`, { smtpRelayTlsVerify: false }));
  await relay.send(message(7));
  assert.deepEqual(server.messages.map((m) => m.to), [['rcpt7@example.com']]);
});

test('smtpSocketTimeoutMs bounds the wait for the reply to the final dot', async (t) => {
  const server = await startScriptedServer(async (s) => {
    await greetAndEhlo(s);
    for (let n = 0; n < 3; n++) await s.readLine();
    s.write('250 Ok\r\n250 Ok\r\n354 go\r\n');
    await s.readData();
    await s.closed;
  });
  t.after(() => server.close());
  const relay = transport(t, config(`smtp://127.0.0.1:${server.port}`, { smtpSocketTimeoutMs: 150 }));
  const error = await relay.send(message()).catch((e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, null);
  assert.match(error.response, /within 150 ms/);
});

test('close() ends idle connections with QUIT and later sends are refused', async (t) => {
  let quit = false;
  const server = await startScriptedServer(async (s) => {
    await greetAndEhlo(s);
    await serveTransactions(s);
    quit = true;
  });
  t.after(() => server.close());
  const relay = new SmtpTransport(config(`smtp://127.0.0.1:${server.port}`));
  await relay.send(message());
  await relay.close();
  for (let i = 0; i < 100 && !quit; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(quit, true);
  await assert.rejects(relay.send(message()), DeliveryError);
});
