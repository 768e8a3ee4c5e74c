import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFailure } from '../../../src/delivery/classify-reply.js';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import type { Destination } from '../../../src/delivery/mx/destination.js';
import { dnsServer, resolverFor } from './fixture.js';

function hostsOf(destination: Destination): { exchange: string; priority: number; addresses: string[] }[] {
  assert.equal(destination.kind, 'hosts');
  return destination.kind === 'hosts' ? destination.hosts.map(({ exchange, priority, addresses }) => ({ exchange, priority, addresses })) : [];
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

test('MX hosts come in order of preference, each with its addresses', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': {
        MX: [
          { exchange: 'backup.example.test', priority: 20 },
          { exchange: 'primary.example.test', priority: 10 },
          { exchange: 'last.example.test', priority: 30 },
        ],
      },
      'primary.example.test': { A: [{ address: '192.0.2.10' }] },
      'backup.example.test': { A: [{ address: '192.0.2.20' }, { address: '192.0.2.21' }] },
      'last.example.test': { A: [{ address: '192.0.2.30' }] },
    },
  });
  const destination = await resolverFor(dns).resolveDestination('example.test');
  assert.deepEqual(hostsOf(destination), [
    { exchange: 'primary.example.test', priority: 10, addresses: ['192.0.2.10'] },
    { exchange: 'backup.example.test', priority: 20, addresses: ['192.0.2.20', '192.0.2.21'] },
    { exchange: 'last.example.test', priority: 30, addresses: ['192.0.2.30'] },
  ]);
  assert.equal(destination.kind === 'hosts' && destination.hosts.every((h) => h.port === 25), true, 'port 25 by default');
});

test('hosts of equal preference are all returned, in an order that varies between resolves', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': {
        MX: [
          { exchange: 'a.example.test', priority: 10 },
          { exchange: 'b.example.test', priority: 10 },
          { exchange: 'z.example.test', priority: 50 },
        ],
      },
      'a.example.test': { A: [{ address: '192.0.2.1' }] },
      'b.example.test': { A: [{ address: '192.0.2.2' }] },
      'z.example.test': { A: [{ address: '192.0.2.26' }] },
    },
  });
  const resolver = resolverFor(dns);
  const orders = new Set<string>();
  // 64 draws of a fair coin all landing the same way: 2^-63.
  for (let i = 0; i < 64; i++) {
    const hosts = hostsOf(await resolver.resolveDestination('example.test'));
    assert.equal(hosts.length, 3);
    assert.deepEqual(hosts.slice(0, 2).map((h) => h.exchange).sort(), ['a.example.test', 'b.example.test']);
    assert.equal(hosts[2]!.exchange, 'z.example.test');
    orders.add(hosts.map((h) => h.exchange).join(','));
  }
  assert.equal(orders.size, 2, 'both orders of the two equal hosts appear');
});

test('a domain without MX is its own mail host (implicit MX, RFC 5321 §5.1)', async (t) => {
  const dns = await dnsServer(t, { records: { 'plain.test': { A: [{ address: '192.0.2.5' }] } } });
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('plain.test')), [
    { exchange: 'plain.test', priority: 0, addresses: ['192.0.2.5'] },
  ]);
});

test('AAAA addresses are used too, after IPv4 unless IPv6 is preferred, and not at all when IPv6 is off', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'dual.test': { MX: [{ exchange: 'mx.dual.test', priority: 10 }] },
      'mx.dual.test': { A: [{ address: '192.0.2.1' }], AAAA: [{ address: '2001:db8::1' }] },
      'v6only.test': { AAAA: [{ address: '::1' }] },
    },
  });
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('dual.test'))[0]!.addresses, ['192.0.2.1', '2001:db8::1']);
  assert.deepEqual(hostsOf(await resolverFor(dns, { preferIpv6: true }).resolveDestination('dual.test'))[0]!.addresses, ['2001:db8::1', '192.0.2.1']);
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('v6only.test')), [{ exchange: 'v6only.test', priority: 0, addresses: ['::1'] }]);
  assert.deepEqual(hostsOf(await resolverFor(dns, { ipv6: false }).resolveDestination('dual.test'))[0]!.addresses, ['192.0.2.1']);
  assert.equal((await resolverFor(dns, { ipv6: false }).resolveDestination('v6only.test')).kind, 'no-domain');
});

test('a single MX "." is a null MX: the domain takes no mail (RFC 7505)', async (t) => {
  const dns = await dnsServer(t, { records: { 'nomail.test': { MX: [{ exchange: '.', priority: 0 }], A: [{ address: '192.0.2.1' }] } } });
  const destination = await resolverFor(dns).resolveDestination('nomail.test');
  assert.equal(destination.kind, 'null-mx');
  assert.equal(destination.kind === 'null-mx' && destination.status, '5.1.10');
});

test('a domain that does not exist is no-domain, permanent, with status 5.1.2', async (t) => {
  const dns = await dnsServer(t, { records: {} });
  const destination = await resolverFor(dns).resolveDestination('nowhere.test');
  assert.equal(destination.kind, 'no-domain');
  assert.equal(destination.kind === 'no-domain' && destination.status, '5.1.2');
});

test('a domain with neither MX nor address is no-domain with status 5.4.4', async (t) => {
  const dns = await dnsServer(t, { records: { 'txtonly.test': { TXT: [{ data: 'hello' }] } } });
  const destination = await resolverFor(dns).resolveDestination('txtonly.test');
  assert.equal(destination.kind, 'no-domain');
  assert.equal(destination.kind === 'no-domain' && destination.status, '5.4.4');
});

test('SERVFAIL is a transient DeliveryError without a reply code, which defers', async (t) => {
  const dns = await dnsServer(t, { records: { 'broken.test': { MX: [{ exchange: 'mx.broken.test', priority: 10 }] } } });
  dns.fail('broken.test');
  const error = await rejection(resolverFor(dns).resolveDestination('broken.test'));
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, null);
  assert.match(error.response, /broken\.test MX SERVFAIL/);
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('a DNS server that does not answer in time is a transient DeliveryError', async (t) => {
  const dns = await dnsServer(t, { records: { 'slow.test': { MX: [{ exchange: 'mx.slow.test', priority: 10 }] } } });
  dns.delay('slow.test', 5000);
  const error = await rejection(resolverFor(dns, { timeoutMs: 100 }).resolveDestination('slow.test'));
  assert.ok(error instanceof DeliveryError);
  assert.equal(error.replyCode, null);
  assert.match(error.response, /TIMEOUT/);
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('an MX host whose address lookup fails is skipped while another works; when none works the failure defers', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': { MX: [{ exchange: 'bad.example.test', priority: 10 }, { exchange: 'good.example.test', priority: 20 }] },
      'bad.example.test': { A: [{ address: '192.0.2.1' }] },
      'good.example.test': { A: [{ address: '192.0.2.2' }] },
    },
  });
  dns.fail('bad.example.test');
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('example.test')).map((h) => h.exchange), ['good.example.test']);
  dns.fail('good.example.test');
  const error = await rejection(resolverFor(dns).resolveDestination('example.test'));
  assert.ok(error instanceof DeliveryError);
  assert.equal(classifyFailure(error).kind, 'deferred');
});

test('MX records naming an IP address, or a host without addresses, are ignored', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': {
        MX: [
          { exchange: '192.0.2.99', priority: 1 },
          { exchange: 'gone.example.test', priority: 2 },
          { exchange: 'empty.example.test', priority: 3 },
          { exchange: 'mx.example.test', priority: 4 },
        ],
      },
      'empty.example.test': { TXT: [{ data: 'no address here' }] },
      'mx.example.test': { A: [{ address: '192.0.2.4' }] },
      'broken.test': { MX: [{ exchange: 'gone.broken.test', priority: 10 }] },
    },
  });
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('example.test')).map((h) => h.exchange), ['mx.example.test']);
  const none = await resolverFor(dns).resolveDestination('broken.test');
  assert.equal(none.kind, 'no-domain', 'every MX host definitively without an address');
  assert.equal(none.kind === 'no-domain' && none.status, '5.4.4');
});

test('at most 10 hosts are returned, the most preferred ones', async (t) => {
  const dns = await dnsServer(t, { records: {} });
  const mx = Array.from({ length: 40 }, (_, i) => ({ exchange: `mx${String(i).padStart(2, '0')}.many.test`, priority: i }));
  dns.set('many.test', 'MX', mx);
  for (const [i, r] of mx.entries()) dns.set(r.exchange, 'A', [{ address: `192.0.2.${i + 1}` }]);
  const hosts = hostsOf(await resolverFor(dns).resolveDestination('many.test'));
  assert.deepEqual(hosts.map((h) => h.exchange), mx.slice(0, 10).map((r) => r.exchange));
  assert.ok(dns.log.some((q) => q.name === 'many.test' && q.transport === 'tcp'), 'the 40-record MX set came over TCP');
});

test('an MX pointing at a CNAME is followed to its address', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': { MX: [{ exchange: 'mail.example.test', priority: 10 }] },
      'mail.example.test': { CNAME: [{ target: 'real-mail.provider.test' }] },
      'real-mail.provider.test': { A: [{ address: '192.0.2.44' }] },
    },
  });
  assert.deepEqual(hostsOf(await resolverFor(dns).resolveDestination('example.test'))[0]!.addresses, ['192.0.2.44']);
});

test('an address literal domain goes to that address without DNS (RFC 5321 §4.1.3)', async (t) => {
  const dns = await dnsServer(t, { records: {} });
  const resolver = resolverFor(dns);
  assert.deepEqual(hostsOf(await resolver.resolveDestination('[192.0.2.8]'))[0]!.addresses, ['192.0.2.8']);
  assert.deepEqual(hostsOf(await resolver.resolveDestination('[IPv6:2001:db8::8]'))[0]!.addresses, ['2001:db8::8']);
  assert.equal(dns.queries, 0);
  assert.equal((await resolver.resolveDestination('not a domain')).kind, 'no-domain');
});
