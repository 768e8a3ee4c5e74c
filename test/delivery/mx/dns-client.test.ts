import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getServers, setServers } from 'node:dns';
import { DnsError, normalizeName, parseServer, query } from '../../../src/delivery/mx/dns-client.js';
import type { DnsTestServer } from '../../support/dns-server.js';
import { dnsServer } from './fixture.js';

const at = (server: DnsTestServer) => ({ servers: [{ host: server.address, port: server.port }], timeoutMs: 2000, retries: 0 });

test('answers come back with their TTLs for MX, A, AAAA and TXT', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'example.test': {
        MX: [{ exchange: 'mx1.example.test', priority: 10, ttl: 120 }],
        A: [{ address: '192.0.2.1', ttl: 60 }],
        AAAA: [{ address: '2001:db8::1', ttl: 30 }],
        TXT: [{ data: 'v=spf1 -all', ttl: 45 }],
      },
    },
  });
  const mx = await query('example.test', 'MX', at(dns));
  assert.deepEqual(mx.answers, [{ name: 'example.test', ttl: 120, exchange: 'mx1.example.test', priority: 10 }]);
  assert.equal(mx.transport, 'udp');
  assert.deepEqual((await query('example.test', 'A', at(dns))).answers, [{ name: 'example.test', ttl: 60, address: '192.0.2.1' }]);
  assert.deepEqual((await query('example.test', 'AAAA', at(dns))).answers, [{ name: 'example.test', ttl: 30, address: '2001:db8::1' }]);
  assert.deepEqual((await query('Example.TEST.', 'TXT', at(dns))).answers, [{ name: 'example.test', ttl: 45, data: 'v=spf1 -all' }]);
});

test('a TXT record longer than 255 bytes comes back whole, as a DKIM key does', async (t) => {
  const key = 'v=DKIM1; k=rsa; p=' + 'A'.repeat(400);
  const dns = await dnsServer(t, { records: { 'sel._domainkey.example.test': { TXT: [{ data: key }] } } });
  const txt = await query('sel._domainkey.example.test', 'TXT', at(dns));
  assert.equal(txt.answers[0]?.data, key);
});

test('a name that does not exist is a permanent NXDOMAIN error carrying the SOA negative TTL', async (t) => {
  const dns = await dnsServer(t, { records: {}, negativeTtlS: 90 });
  const error = await query('nowhere.test', 'MX', at(dns)).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof DnsError);
  assert.equal(error.code, 'NXDOMAIN');
  assert.equal(error.permanent, true);
  assert.equal(error.negativeTtlS, 90);
  assert.equal(error.server, `127.0.0.1:${dns.port}`);
});

test('a name without records of the type asked for answers empty, not an error', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } }, negativeTtlS: 40 });
  const mx = await query('example.test', 'MX', at(dns));
  assert.deepEqual(mx.answers, []);
  assert.equal(mx.negativeTtlS, 40);
});

test('SERVFAIL is a transient typed error, and every server is tried once per round', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } } });
  dns.fail('example.test');
  const error = await query('example.test', 'A', { ...at(dns), retries: 2 }).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof DnsError);
  assert.equal(error.code, 'SERVFAIL');
  assert.equal(error.permanent, false);
  assert.equal(dns.queries, 3, 'one query and two retries');
});

test('a server that does not answer in time gives a TIMEOUT error', async (t) => {
  const dns = await dnsServer(t, { records: { 'slow.test': { A: [{ address: '192.0.2.1' }] } } });
  dns.delay('slow.test', 5000);
  const error = await query('slow.test', 'A', { ...at(dns), timeoutMs: 100 }).then(() => null, (e: unknown) => e);
  assert.ok(error instanceof DnsError);
  assert.equal(error.code, 'TIMEOUT');
  assert.equal(error.permanent, false);
});

test('when the first server times out the next one answers', async (t) => {
  const slow = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.9' }] } }, delayMs: 5000 });
  const good = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } } });
  const a = await query('example.test', 'A', { servers: [at(slow).servers[0]!, at(good).servers[0]!], timeoutMs: 100, retries: 0 });
  assert.deepEqual(a.answers.map((r) => r.address), ['192.0.2.1']);
  assert.deepEqual(a.server, { host: '127.0.0.1', port: good.port });
});

test('a truncated UDP answer is asked again over TCP and comes back whole', async (t) => {
  const mx = Array.from({ length: 40 }, (_, i) => ({ exchange: `mx${i}.big.test`, priority: i }));
  const dns = await dnsServer(t, { records: { 'big.test': { MX: mx } } });
  const answer = await query('big.test', 'MX', at(dns));
  assert.equal(answer.transport, 'tcp');
  assert.equal(answer.answers.length, 40);
  assert.deepEqual(new Set(answer.answers.map((r) => r.exchange)), new Set(mx.map((r) => r.exchange)));
  assert.deepEqual(dns.log.map((q) => q.transport), ['udp', 'tcp']);
});

test('a forged answer with the wrong id is ignored and the real one taken', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }], MX: [{ exchange: 'mx.example.test', priority: 5 }] } } });
  dns.spoof('example.test', 'wrong-id');
  assert.deepEqual((await query('example.test', 'A', at(dns))).answers.map((r) => r.address), ['192.0.2.1']);
  assert.deepEqual((await query('example.test', 'MX', at(dns))).answers.map((r) => r.exchange), ['mx.example.test']);
});

test('a forged answer with the right id for another question is ignored', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } } });
  dns.spoof('example.test', 'wrong-question');
  assert.deepEqual((await query('example.test', 'A', at(dns))).answers.map((r) => r.address), ['192.0.2.1']);
});

test('a server that does not know EDNS is asked again without it', async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } }, edns: false });
  assert.deepEqual((await query('example.test', 'A', at(dns))).answers.map((r) => r.address), ['192.0.2.1']);
  assert.equal(dns.queries, 2);
});

test('a CNAME chain is followed and the answer keeps the smallest TTL along it', async (t) => {
  const dns = await dnsServer(t, {
    records: {
      'alias.test': { CNAME: [{ target: 'middle.test', ttl: 20 }] },
      'middle.test': { CNAME: [{ target: 'real.test', ttl: 600 }] },
      'real.test': { A: [{ address: '192.0.2.7', ttl: 300 }] },
    },
  });
  const a = await query('alias.test', 'A', at(dns));
  assert.deepEqual(a.answers, [{ name: 'real.test', ttl: 20, address: '192.0.2.7' }]);
});

test("without configured servers the system's are used (dns.getServers)", async (t) => {
  const dns = await dnsServer(t, { records: { 'example.test': { A: [{ address: '192.0.2.1' }] } } });
  const before = getServers();
  setServers([`127.0.0.1:${dns.port}`]);
  t.after(() => setServers(before));
  const a = await query('example.test', 'A', { timeoutMs: 2000, retries: 0 });
  assert.deepEqual(a.answers.map((r) => r.address), ['192.0.2.1']);
  assert.equal(dns.queries, 1);
});

test('names that cannot be asked are refused before any query', async () => {
  for (const bad of ['', '.', 'a..b', `${'x'.repeat(64)}.test`, `${'abcdefghi.'.repeat(26)}test`]) {
    const error = await query(bad, 'A', { servers: [{ host: '127.0.0.1', port: 9 }] }).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof DnsError, bad);
    assert.equal(error.code, 'BAD_NAME', bad);
    assert.equal(error.permanent, true);
  }
  assert.equal(normalizeName('Bücher.Example.'), 'xn--bcher-kva.example');
  assert.equal(normalizeName('_dmarc.Example.com'), '_dmarc.example.com');
});

test('server addresses are read as dns.getServers writes them', () => {
  assert.deepEqual(parseServer('192.0.2.53'), { host: '192.0.2.53', port: 53 });
  assert.deepEqual(parseServer('192.0.2.53:5353'), { host: '192.0.2.53', port: 5353 });
  assert.deepEqual(parseServer('2001:db8::53'), { host: '2001:db8::53', port: 53 });
  assert.deepEqual(parseServer('[2001:db8::53]:5353'), { host: '2001:db8::53', port: 5353 });
});
