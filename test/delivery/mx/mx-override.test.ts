import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTransport } from 'nodemailer';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { MxResolver } from '../../../src/delivery/mx/mx-resolver.js';
import { startSmtpSink } from '../../support/smtp-sink.js';
import { dnsServer, resolverFor } from './fixture.js';

test('an override sends a domain to fixed hosts in the order given, without asking its MX', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.com': { MX: [{ exchange: 'mx.example.com', priority: 10 }] },
      'relay.internal': { A: [{ address: '192.0.2.50' }] },
    },
  });
  const resolver = resolverFor(dns, {
    ipv6: false,
    mxOverrides: { 'Example.COM': ['127.0.0.2:2525', 'relay.internal', '[::1]:2526'] },
  });
  const destination = await resolver.resolveDestination('example.com');
  assert.equal(destination.kind, 'hosts');
  assert.deepEqual(destination.kind === 'hosts' && destination.hosts, [
    { exchange: '127.0.0.2', priority: 0, addresses: ['127.0.0.2'], port: 2525 },
    { exchange: 'relay.internal', priority: 1, addresses: ['192.0.2.50'], port: 25 },
    { exchange: '::1', priority: 2, addresses: ['::1'], port: 2526 },
  ]);
  assert.deepEqual(dns.log.map((q) => q.name), ['relay.internal'], 'only the override host name was looked up');
});

test('an override whose host names do not resolve defers instead of bouncing', async (t) => {
  const dns = await dnsServer(t, { records: {} });
  const resolver = resolverFor(dns, { mxOverrides: { 'example.com': ['missing.internal'] } });
  const error = await resolver.resolveDestination('example.com').then(() => null, (e: unknown) => e);
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, null);
});

test('malformed overrides are refused when the resolver is built', () => {
  assert.throws(() => new MxResolver({ mxOverrides: { 'example.com': [] } }), /at least one host/);
  assert.throws(() => new MxResolver({ mxOverrides: { 'example.com': ['host:99999'] } }), /not host/);
  assert.throws(() => new MxResolver({ mxOverrides: { 'example.com': ['[not-v6]:25'] } }), /not host/);
});

test('setOverrides replaces the overrides and forgets cached answers', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.com': { A: [{ address: '192.0.2.1' }] } } });
  const resolver = resolverFor(dns, { ipv6: false });
  const before = await resolver.resolveDestination('example.com');
  assert.deepEqual(before.kind === 'hosts' && before.hosts[0]!.addresses, ['192.0.2.1']);
  resolver.setOverrides({ 'example.com': ['127.0.0.2:2525'] });
  const after = await resolver.resolveDestination('example.com');
  assert.deepEqual(after.kind === 'hosts' && after.hosts[0], { exchange: '127.0.0.2', priority: 0, addresses: ['127.0.0.2'], port: 2525 });
});

test('a real SMTP server on 127.0.0.2 takes a message at the address and port the resolver returned', async (t) => {
  const sink = await startSmtpSink({ host: '127.0.0.2' });
  t.after(() => sink.close());
  const dns = await dnsServer(t, {
    records: {
      'recipient.test': { MX: [{ exchange: 'mx.recipient.test', priority: 10 }] },
      'mx.recipient.test': { A: [{ address: '127.0.0.2' }] },
    },
  });
  const resolver = resolverFor(dns, { smtpPort: sink.port });
  const destination = await resolver.resolveDestination('recipient.test');
  assert.equal(destination.kind, 'hosts');
  const host = destination.kind === 'hosts' ? destination.hosts[0]! : assert.fail('no hosts');
  assert.deepEqual(host.addresses, ['127.0.0.2']);

  const transport = createTransport({ host: host.addresses[0], port: host.port, secure: false, ignoreTLS: true, name: 'herald.test' });
  t.after(() => transport.close());
  await transport.sendMail({
    envelope: { from: 'sender@herald.test', to: ['ann@recipient.test'] },
    raw: 'From: sender@herald.test\r\nTo: ann@recipient.test\r\nSubject: direct\r\n\r\nHello over MX.\r\n',
  });
  await sink.waitFor(1, 5000);
  assert.deepEqual(sink.messages[0]!.to, ['ann@recipient.test']);
});
