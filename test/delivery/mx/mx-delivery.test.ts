import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsTestServer } from '../../support/dns-server.js';
import { startSmtpSink, type SmtpSink } from '../../support/smtp-sink.js';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../../support/test-herald.js';
import { freePort } from '../../support/free-port.js';
import type { MessageDetail } from '../../../src/events/event-log.js';

// Direct MX delivery end to end: a real DNS server and real SMTP servers, each on its own loopback
// address (127.0.0.x) and all on one port, as MX hosts on the Internet all listen on 25.

let port: number;
let dns: DnsTestServer;
let herald: TestHerald;
const sinks: Record<string, SmtpSink> = {};

before(async () => {
  port = await freePort();
  for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.5', '127.0.0.6']) sinks[address] = await startSmtpSink({ host: address, port });
  dns = await startDnsServer({
    records: {
      'alpha.test': { MX: [{ exchange: 'mx.alpha.test', priority: 10 }] },
      'mx.alpha.test': { A: [{ address: '127.0.0.2' }] },
      'beta.test': { MX: [{ exchange: 'mx.beta.test', priority: 10 }] },
      'mx.beta.test': { A: [{ address: '127.0.0.3' }] },
      // The preferred host refuses connections (nothing listens on 127.0.0.4): the backup takes it.
      'backup.test': { MX: [{ exchange: 'down.backup.test', priority: 10 }, { exchange: 'up.backup.test', priority: 20 }] },
      'down.backup.test': { A: [{ address: '127.0.0.4' }] },
      'up.backup.test': { A: [{ address: '127.0.0.5' }] },
      // No MX: the domain's own address is its mail host (RFC 5321 §5.1).
      'plain.test': { A: [{ address: '127.0.0.6' }] },
      'refusing.test': { MX: [{ exchange: 'mx.refusing.test', priority: 10 }] },
      'mx.refusing.test': { A: [{ address: '127.0.0.4' }] },
      // RFC 7505: takes no mail.
      'nomail.test': { MX: [{ exchange: '.', priority: 0 }] },
      // Its MX says another address; the override wins.
      'pinned.test': { MX: [{ exchange: 'mx.beta.test', priority: 10 }] },
    },
    negativeTtlS: 60,
  });
  herald = await startTestHerald({
    deliveryTransport: 'mx',
    dnsServers: `127.0.0.1:${dns.port}`,
    dnsTimeoutMs: 2000,
    dnsRetries: 0,
    smtpPort: port,
    smtpIpv6: false,
    smtpConnectTimeoutMs: 2000,
    mxOverrides: { 'pinned.test': [`127.0.0.6:${port}`] },
    retryBaseMs: 60 * 60 * 1000,
  });
});

after(async () => {
  await herald?.close();
  await dns?.close();
  await Promise.all(Object.values(sinks).map((s) => s.close()));
});

async function send(to: string): Promise<string> {
  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: to }] }], subject: `to ${to}` }) });
  assert.equal(res.status, 202, await res.text());
  return `${res.headers.get('x-message-id')}.0`;
}

async function settled(messageId: string): Promise<MessageDetail> {
  const accountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
  return eventually(async () => {
    const detail = await herald.backend.activity.getMessage(accountId, messageId);
    return detail && detail.status !== 'processed' ? detail : null;
  }, 20_000, `an outcome for ${messageId}`);
}

function arrivedAt(address: string, to: string): boolean {
  return sinks[address]!.messages.some((m) => m.to.includes(to));
}

test('each domain goes to its own MX host', async () => {
  const [a, b] = await Promise.all([send('ann@alpha.test'), send('bob@Beta.TEST')]);
  const [da, db] = await Promise.all([settled(a), settled(b)]);
  assert.equal(da.status, 'delivered');
  assert.equal(db.status, 'delivered');
  assert.ok(arrivedAt('127.0.0.2', 'ann@alpha.test'));
  assert.ok(arrivedAt('127.0.0.3', 'bob@Beta.TEST'));
  assert.ok(!arrivedAt('127.0.0.2', 'bob@Beta.TEST'));
  const delivered = da.events.find((e) => e.type === 'delivered');
  assert.equal(delivered?.type === 'delivered' && delivered.mxServer, 'mx.alpha.test');
});

test('a preferred MX host that refuses connections is passed over for the next one', async () => {
  const id = await send('carol@backup.test');
  const detail = await settled(id);
  assert.equal(detail.status, 'delivered');
  assert.ok(arrivedAt('127.0.0.5', 'carol@backup.test'));
  const delivered = detail.events.find((e) => e.type === 'delivered');
  assert.equal(delivered?.type === 'delivered' && delivered.mxServer, 'up.backup.test');
});

test('a domain without MX records gets its mail at its own address', async () => {
  const detail = await settled(await send('dan@plain.test'));
  assert.equal(detail.status, 'delivered');
  assert.ok(arrivedAt('127.0.0.6', 'dan@plain.test'));
});

test('mxOverrides send a domain to a fixed host instead of its MX', async () => {
  const detail = await settled(await send('erin@pinned.test'));
  assert.equal(detail.status, 'delivered');
  assert.ok(arrivedAt('127.0.0.6', 'erin@pinned.test'));
  assert.ok(!arrivedAt('127.0.0.3', 'erin@pinned.test'));
});

test('a null MX bounces at once with 5.1.10, and a domain that does not exist with 5.1.2', async () => {
  const [nullMx, nx] = await Promise.all([settled(await send('frank@nomail.test')), settled(await send('gina@nowhere.test'))]);
  const b1 = nullMx.events.find((e) => e.type === 'bounce');
  const b2 = nx.events.find((e) => e.type === 'bounce');
  assert.equal(b1?.type === 'bounce' && b1.status, '5.1.10');
  assert.equal(b1?.type === 'bounce' && b1.bounceType, 'bounce');
  assert.match(b1?.type === 'bounce' ? b1.reason : '', /null MX/);
  assert.equal(b2?.type === 'bounce' && b2.status, '5.1.2');
  assert.equal(nullMx.events.filter((e) => e.type === 'deferred').length, 0);
});

test('when no MX host can be reached the message is deferred, not bounced', async () => {
  const id = await send('hal@refusing.test');
  const accountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
  const detail = await eventually(async () => {
    const d = await herald.backend.activity.getMessage(accountId, id);
    return d?.events.some((e) => e.type === 'deferred') ? d : null;
  }, 20_000, 'a deferral');
  const deferred = detail.events.find((e) => e.type === 'deferred');
  assert.equal(deferred?.type === 'deferred' && deferred.mxServer, 'mx.refusing.test');
  assert.match(deferred?.type === 'deferred' ? deferred.response : '', /ECONNREFUSED/);
  assert.equal(detail.events.filter((e) => e.type === 'bounce').length, 0);
});
