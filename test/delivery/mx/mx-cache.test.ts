import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryError } from '../../../src/delivery/delivery-error.js';
import { dnsServer, resolverFor, testClock } from './fixture.js';

const SECOND = 1000;

function zone(ttl: { mx: number; a: number }) {
  return {
    'example.test': { MX: [{ exchange: 'mx.example.test', priority: 10, ttl: ttl.mx }] },
    'mx.example.test': { A: [{ address: '192.0.2.1', ttl: ttl.a }], AAAA: [{ address: '2001:db8::1', ttl: ttl.a }] },
  };
}

test('within the TTL a second resolve asks no DNS question; after it the domain is looked up again', async (t) => {
  const dns = await dnsServer(t, { records: zone({ mx: 600, a: 120 }) });
  const clock = testClock();
  const resolver = resolverFor(dns, { now: clock.now });

  const first = await resolver.resolveDestination('example.test');
  const asked = dns.queries;
  assert.equal(asked, 3, 'MX, A and AAAA');
  assert.equal(first.expiresAt, clock.now() + 120 * SECOND, 'the smallest TTL of the records used');

  clock.advance(119 * SECOND);
  await resolver.resolveDestination('example.test');
  assert.equal(dns.queries, asked, 'answered from the cache');

  dns.set('mx.example.test', 'A', [{ address: '192.0.2.2', ttl: 120 }]);
  clock.advance(2 * SECOND);
  const again = await resolver.resolveDestination('example.test');
  assert.equal(dns.queries, asked * 2, 'looked up again once expired');
  assert.deepEqual(again.kind === 'hosts' && again.hosts[0]!.addresses, ['192.0.2.2', '2001:db8::1']);
});

test('TTLs are held between the floor and the ceiling', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      ...zone({ mx: 0, a: 0 }),
      'long.test': { MX: [{ exchange: 'mx.long.test', priority: 10, ttl: 86400 }] },
      'mx.long.test': { A: [{ address: '192.0.2.3', ttl: 86400 }] },
    },
  });
  const clock = testClock();
  const resolver = resolverFor(dns, { now: clock.now, minTtlS: 5, maxTtlS: 3600 });
  assert.equal((await resolver.resolveDestination('example.test')).expiresAt, clock.now() + 5 * SECOND);
  assert.equal((await resolver.resolveDestination('long.test')).expiresAt, clock.now() + 3600 * SECOND);
  const asked = dns.queries;
  clock.advance(4 * SECOND);
  await resolver.resolveDestination('example.test');
  assert.equal(dns.queries, asked, 'a TTL of 0 is still cached for the floor');
});

test('NXDOMAIN is cached for the SOA negative TTL', async (t) => {
  const dns = await dnsServer(t, { records: {}, negativeTtlS: 60 });
  const clock = testClock();
  const resolver = resolverFor(dns, { now: clock.now });
  const first = await resolver.resolveDestination('later.test');
  assert.equal(first.kind, 'no-domain');
  assert.equal(first.expiresAt, clock.now() + 60 * SECOND);
  assert.equal(dns.queries, 1);

  dns.set('later.test', 'A', [{ address: '192.0.2.1' }]);
  clock.advance(59 * SECOND);
  assert.equal((await resolver.resolveDestination('later.test')).kind, 'no-domain', 'still the cached answer');
  assert.equal(dns.queries, 1);

  clock.advance(2 * SECOND);
  assert.equal((await resolver.resolveDestination('later.test')).kind, 'hosts', 'the domain now exists');
});

test('NXDOMAIN without an SOA is cached for the configured negative TTL', async (t) => {
  const dns = await dnsServer(t, { records: {} });
  const clock = testClock();
  const resolver = resolverFor(dns, { now: clock.now, negativeTtlS: 30 });
  assert.equal((await resolver.resolveDestination('nowhere.test')).expiresAt, clock.now() + 30 * SECOND);
  clock.advance(29 * SECOND);
  await resolver.resolveDestination('nowhere.test');
  assert.equal(dns.queries, 1);
});

test('a failed lookup is remembered for the floor only, then asked again', async (t) => {
  const dns = await dnsServer(t, { records: zone({ mx: 300, a: 300 }) });
  dns.fail('example.test');
  const clock = testClock();
  const resolver = resolverFor(dns, { now: clock.now, minTtlS: 5 });
  await assert.rejects(resolver.resolveDestination('example.test'), DeliveryError);
  const asked = dns.queries;
  dns.heal('example.test');
  await assert.rejects(resolver.resolveDestination('example.test'), DeliveryError);
  assert.equal(dns.queries, asked, 'the failure came from the cache');
  clock.advance(6 * SECOND);
  assert.equal((await resolver.resolveDestination('example.test')).kind, 'hosts');
});

test('concurrent resolves of one domain share one set of queries', async (t) => {
  const dns = await dnsServer(t, { records: zone({ mx: 300, a: 300 }) });
  // Slow answers keep the first lookup in flight while the others arrive.
  dns.delay('example.test', 100);
  const resolver = resolverFor(dns);
  const results = await Promise.all(Array.from({ length: 20 }, () => resolver.resolveDestination('example.test')));
  assert.equal(dns.queries, 3, 'one MX, one A, one AAAA');
  for (const r of results) assert.deepEqual(r.kind === 'hosts' && r.hosts.map((h) => h.exchange), ['mx.example.test']);
});

test('concurrent resolves of a failing domain all fail from one set of queries', async (t) => {
  const dns = await dnsServer(t, { records: zone({ mx: 300, a: 300 }) });
  dns.fail('example.test');
  dns.delay('example.test', 100);
  const resolver = resolverFor(dns);
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => resolver.resolveDestination('example.test')));
  assert.equal(dns.queries, 1);
  for (const r of results) assert.ok(r.status === 'rejected' && r.reason instanceof DeliveryError);
});

test('clear() forgets cached answers', async (t) => {
  const dns = await dnsServer(t, { records: zone({ mx: 300, a: 300 }) });
  const resolver = resolverFor(dns);
  await resolver.resolveDestination('example.test');
  resolver.clear();
  await resolver.resolveDestination('example.test');
  assert.equal(dns.queries, 6);
});

test('the cache holds at most cacheSize domains, dropping the oldest', async (t) => {
  const dns = await dnsServer(t, { records: { 'a.test': { A: [{ address: '192.0.2.1' }] }, 'b.test': { A: [{ address: '192.0.2.2' }] } } });
  const resolver = resolverFor(dns, { cacheSize: 1, ipv6: false });
  await resolver.resolveDestination('a.test'); // MX, A
  await resolver.resolveDestination('b.test'); // MX, A; a.test dropped
  await resolver.resolveDestination('b.test'); // cached
  await resolver.resolveDestination('a.test'); // asked again
  assert.equal(dns.queries, 6);
});
