import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServerOptions, type DnsTestServer } from '../support/dns-server.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startFaultServer, type FaultServer } from '../support/fault-smtp-server.js';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { freePort } from '../support/free-port.js';
import type { HeraldConfig } from '../../src/config/settings.js';

// Destinations are isolated: a destination that hangs or refuses keeps its messages to itself,
// and the others are delivered as if it were not there. Real DNS, real SMTP servers on loopback.

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

interface World {
  herald: TestHerald;
  sink: SmtpSink;
  dns: DnsTestServer;
  port: number;
}

/** fast.test's MX is a sink on 127.0.0.2; `extra` adds hosts for the destination under test. */
async function world(records: NonNullable<DnsServerOptions['records']>, settings: Partial<HeraldConfig>, before?: (port: number) => Promise<void>): Promise<World> {
  const port = await freePort();
  await before?.(port);
  const sink = await startSmtpSink({ host: '127.0.0.2', port });
  closers.push(() => sink.close());
  const dns = await startDnsServer({
    records: { 'fast.test': { MX: [{ exchange: 'mx.fast.test', priority: 10 }] }, 'mx.fast.test': { A: [{ address: '127.0.0.2' }] }, ...records },
  });
  closers.push(() => dns.close());
  const herald = await startTestHerald({
    deliveryTransport: 'mx',
    dnsServers: `127.0.0.1:${dns.port}`,
    dnsRetries: 0,
    smtpPort: port,
    smtpIpv6: false,
    retryBaseMs: 60 * 60 * 1000, // a deferred message does not come back during the test
    shutdownGraceMs: 200,
    ...settings,
  });
  closers.push(() => herald.close());
  return { herald, sink, dns, port };
}

async function sendMany(herald: TestHerald, domain: string, count: number): Promise<void> {
  const to = Array.from({ length: count }, (_, i) => ({ to: [{ email: `user${i}@${domain}` }] }));
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: to }) });
  assert.equal(res.status, 202, await res.text());
}

test('a tarpitting destination holds only its own share of the worker; the others are all delivered', async () => {
  let tarpit: FaultServer | undefined;
  const { herald, sink } = await world(
    { 'tarpit.test': { MX: [{ exchange: 'mx.tarpit.test', priority: 10 }] }, 'mx.tarpit.test': { A: [{ address: '127.0.0.3' }] } },
    {
      deliveryConcurrency: 16,
      smtpGreetingTimeoutMs: 10 * 60 * 1000, // the tarpit's silence outlasts the test
      destinationOverrides: { 'tarpit.test': { maxConnections: 2 } },
    },
    async (port) => {
      // Accepts connections and never says a word: every session waits for its greeting.
      tarpit = await startFaultServer({ greeting: null }, { host: '127.0.0.3', port });
      closers.push(() => tarpit!.close());
    },
  );
  // The tarpit's messages are older, so without shaping they would take every slot first.
  await sendMany(herald, 'tarpit.test', 100);
  await sendMany(herald, 'fast.test', 100);
  await sink.waitFor(100, 30_000);
  const depth = (await herald.backend.queue.destinationDepths()).find((d) => d.destination === 'tarpit.test');
  assert.equal(depth?.leased, 8, 'the tarpit holds 2 connections × 4 messages, no more');
  assert.equal(depth.ready + depth.scheduled, 92);
  assert.equal(tarpit!.open, 2, 'and never more connections than its limit');
  assert.ok(sink.messages.every((m) => m.to[0]!.endsWith('@fast.test')));
});

test('a destination whose servers refuse connections is paused after the configured failures; its messages wait unattempted', async () => {
  // 127.0.0.4 has nothing listening on the port: every connection is refused.
  const { herald, sink } = await world(
    { 'down.test': { MX: [{ exchange: 'mx.down.test', priority: 10 }] }, 'mx.down.test': { A: [{ address: '127.0.0.4' }] } },
    { deliveryConcurrency: 16, destinationBreakerFailures: 3, destinationBreakerPauseMs: 60 * 60 * 1000, destinationOverrides: { 'down.test': { maxConnections: 1 } } },
  );
  await sendMany(herald, 'down.test', 20);
  // One claim round takes its four-message share; all four fail to connect; the third failure opens the breaker.
  await eventually(async () => {
    const entries = await herald.backend.queue.list({ destination: 'down.test', limit: 100 });
    return entries.filter((e) => e.attempts === 1).length === 4;
  }, 20_000, 'four deferred attempts');
  // Deliveries elsewhere go on while it is paused, and the paused destination's messages stay put.
  await sendMany(herald, 'fast.test', 5);
  await sink.waitFor(5, 20_000);
  const entries = await herald.backend.queue.list({ destination: 'down.test', limit: 100 });
  assert.equal(entries.length, 20);
  assert.equal(entries.filter((e) => e.attempts === 0).length, 16, 'sixteen never attempted');
  assert.ok(entries.filter((e) => e.attempts === 1).every((e) => /ECONNREFUSED/.test(e.lastResponse ?? '')));
});
