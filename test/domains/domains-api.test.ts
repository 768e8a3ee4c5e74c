import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';
import { startDnsServer, type DnsTestServer } from '../support/dns-server.js';
import { signingKeysFor } from '../../src/domains/signing-keys.js';
import { signMessage } from '../../src/domains/dkim-sign.js';
import { publish, resolverFor } from './support.js';

interface DnsEntry {
  valid: boolean;
  type: string;
  host: string;
  data: string;
}
interface DomainBody {
  id: number;
  domain: string;
  valid: boolean;
  dns: Record<'dkim1' | 'dkim2' | 'spf' | 'dmarc', DnsEntry>;
}
interface ValidateBody {
  id: number;
  valid: boolean;
  validation_results: Record<string, { valid: boolean; reason: string | null }>;
}
interface ErrorBody {
  errors: { message: string; field: string | null; help: string; code: string }[];
}

describe('sending domains API: /v3/whitelabel/domains', () => {
  let h: TestHerald;
  let dns: DnsTestServer;

  before(async () => {
    dns = await startDnsServer();
    h = await startTestHerald({ dnsCheckServers: `127.0.0.1:${dns.port}`, spfInclude: 'spf.relay.test', sendingIps: '192.0.2.10,2001:db8::10', dmarcRua: 'reports@dmarc.test' });
  });
  after(async () => {
    await h.close();
    await dns.close();
  });

  async function create(domain: string, key?: string): Promise<DomainBody> {
    const res = await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain }, ...(key ? { key } : {}) });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as DomainBody;
  }

  async function validate(id: number, key?: string): Promise<ValidateBody> {
    const res = await h.api(`/v3/whitelabel/domains/${id}/validate`, { method: 'POST', ...(key ? { key } : {}) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as ValidateBody;
  }

  test('adding a domain answers 201 with the DKIM, SPF and DMARC records to publish', async () => {
    const d = await create('Shop.Example.TEST.');
    assert.ok(Number.isInteger(d.id) && d.id > 0);
    assert.equal(d.domain, 'shop.example.test');
    assert.equal(d.valid, false);
    assert.match(d.dns.dkim1.host, /^herald\d{4}r\._domainkey\.shop\.example\.test$/);
    assert.match(d.dns.dkim1.data, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{300,}={0,2}$/);
    assert.match(d.dns.dkim2.host, /^herald\d{4}e\._domainkey\.shop\.example\.test$/);
    assert.match(d.dns.dkim2.data, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    assert.equal(d.dns.spf.host, 'shop.example.test');
    assert.equal(d.dns.spf.data, 'v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 include:spf.relay.test ~all');
    assert.equal(d.dns.dmarc.host, '_dmarc.shop.example.test');
    assert.equal(d.dns.dmarc.data, 'v=DMARC1; p=none; rua=mailto:reports@dmarc.test');
    for (const r of Object.values(d.dns)) assert.equal(r.type, 'txt');
  });

  test('a domain is listed, shown by id and deleted', async () => {
    const d = await create('list.example.test');
    const list = (await (await h.api('/v3/whitelabel/domains')).json()) as DomainBody[];
    assert.ok(list.some((x) => x.id === d.id && x.domain === 'list.example.test'));
    const shown = await h.api(`/v3/whitelabel/domains/${d.id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual(await shown.json(), d);
    const deleted = await h.api(`/v3/whitelabel/domains/${d.id}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}`)).status, 404);
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}`, { method: 'DELETE' })).status, 404);
  });

  test('validate reports each record, and the domain turns valid once both DKIM records are published', async () => {
    const d = await create('valid.example.test');
    const before = await validate(d.id);
    assert.equal(before.valid, false);
    for (const name of ['dkim1', 'dkim2', 'spf', 'dmarc']) {
      assert.equal(before.validation_results[name]!.valid, false, name);
      assert.match(before.validation_results[name]!.reason!, /no TXT record found/);
    }

    // Only the RSA key: not yet valid.
    publish(dns, [d.dns.dkim1]);
    const half = await validate(d.id);
    assert.equal(half.valid, false);
    assert.equal(half.validation_results.dkim1!.valid, true);
    assert.equal(half.validation_results.dkim1!.reason, null);
    assert.equal(half.validation_results.dkim2!.valid, false);

    publish(dns, [d.dns.dkim2]);
    const done = await validate(d.id);
    assert.equal(done.valid, true);
    assert.equal(done.validation_results.spf!.valid, false, 'SPF is advice and not published');
    const shown = (await (await h.api(`/v3/whitelabel/domains/${d.id}`)).json()) as DomainBody;
    assert.equal(shown.valid, true);
    assert.equal(shown.dns.dkim1.valid, true);

    // SPF with the suggested terms among others, and any DMARC record, match.
    dns.set('valid.example.test', 'TXT', [{ data: 'v=spf1 mx ip4:192.0.2.10 ip6:2001:db8::10 include:spf.relay.test -all' }, { data: 'google-site-verification=x' }]);
    dns.set('_dmarc.valid.example.test', 'TXT', [{ data: 'v=DMARC1; p=reject' }]);
    const all = await validate(d.id);
    assert.equal(all.validation_results.spf!.valid, true, all.validation_results.spf!.reason ?? '');
    assert.equal(all.validation_results.dmarc!.valid, true);
  });

  test('a wrong DKIM key, an extra key record or a second SPF record is reported and the domain is not valid', async () => {
    const d = await create('wrong.example.test');
    const other = await create('other.example.test');
    publish(dns, [{ host: d.dns.dkim1.host, data: other.dns.dkim1.data }, d.dns.dkim2]);
    const wrong = await validate(d.id);
    assert.equal(wrong.valid, false);
    assert.equal(wrong.validation_results.dkim1!.valid, false);
    assert.match(wrong.validation_results.dkim1!.reason!, /Expected the DKIM key record/);
    assert.equal(wrong.validation_results.dkim2!.valid, true);

    dns.set(d.dns.dkim1.host, 'TXT', [{ data: d.dns.dkim1.data }, { data: other.dns.dkim1.data }]);
    const two = await validate(d.id);
    assert.equal(two.validation_results.dkim1!.valid, false);
    assert.match(two.validation_results.dkim1!.reason!, /Found 2 TXT records/);

    dns.set('wrong.example.test', 'TXT', [{ data: 'v=spf1 include:spf.relay.test ~all' }, { data: 'v=spf1 mx ~all' }]);
    assert.match((await validate(d.id)).validation_results.spf!.reason!, /2 SPF records/);

    // A domain valid once turns invalid when its record goes away.
    publish(dns, [d.dns.dkim1]);
    assert.equal((await validate(d.id)).valid, true);
    dns.remove(d.dns.dkim1.host);
    assert.equal((await validate(d.id)).valid, false);
  });

  test('a DNS server failure is reported per record, and does not take validity away from a valid domain', async () => {
    const d = await create('servfail.example.test');
    dns.fail(d.dns.dkim1.host);
    const result = await validate(d.id);
    assert.equal(result.valid, false);
    assert.match(result.validation_results.dkim1!.reason!, /lookup failed \(ESERVFAIL\)/);

    dns.heal(d.dns.dkim1.host);
    publish(dns, [d.dns.dkim1, d.dns.dkim2]);
    assert.equal((await validate(d.id)).valid, true);
    dns.fail(d.dns.dkim2.host);
    const outage = await validate(d.id);
    assert.equal(outage.valid, true, 'kept through an outage');
    assert.equal(outage.validation_results.dkim2!.valid, false);
    const shown = (await (await h.api(`/v3/whitelabel/domains/${d.id}`)).json()) as DomainBody;
    assert.equal(shown.valid, true);
    assert.equal(shown.dns.dkim1.valid, true);
    assert.equal(shown.dns.dkim2.valid, false, 'the record shows what the last check found');
    dns.heal(d.dns.dkim2.host);
  });

  test('a valid domain yields signing keys for its From addresses, and mail signed with them verifies', async () => {
    const d = await create('signing.example.test');
    const account = (await h.backend.accounts.findAccountByName('default'))!.id;
    assert.deepEqual(await signingKeysFor(h.backend.domains, account, 'news@signing.example.test'), [], 'not valid yet');
    publish(dns, [d.dns.dkim1, d.dns.dkim2]);
    assert.equal((await validate(d.id)).valid, true);
    const keys = await signingKeysFor(h.backend.domains, account, 'News@Signing.Example.Test');
    assert.deepEqual(keys.map((k) => k.algorithm), ['rsa-sha256', 'ed25519-sha256']);
    assert.deepEqual(keys.map((k) => k.domain), ['signing.example.test', 'signing.example.test']);
    // A subdomain of the From signs as the parent; another domain gets nothing.
    assert.equal((await signingKeysFor(h.backend.domains, account, 'x@mail.signing.example.test')).length, 2);
    assert.deepEqual(await signingKeysFor(h.backend.domains, account, 'x@example.test'), []);
    assert.deepEqual(await signingKeysFor(h.backend.domains, account, 'x@notsigning.example.test'), []);

    const raw = Buffer.from('From: news@signing.example.test\r\nTo: a@b.test\r\nSubject: s\r\n\r\n.leading dot  \r\n');
    const results = (await dkimVerify(signMessage(raw, keys), { resolver: resolverFor(dns) })).results;
    assert.deepEqual(results.map((r) => r.status.result), ['pass', 'pass']);

    // The private keys appear in no answer.
    const everything = (await (await h.api('/v3/whitelabel/domains')).text()) + (await (await h.api(`/v3/whitelabel/domains/${d.id}`)).text());
    assert.doesNotMatch(everything, /PRIVATE/);
    for (const k of keys) {
      const body = k.privateKeyPem.split('\n').slice(1, -2).join('');
      assert.equal(everything.includes(body.slice(10, 60)), false);
    }

    // Deleting the domain stops signing at once in this process.
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await signingKeysFor(h.backend.domains, account, 'news@signing.example.test'), []);
  });

  test("another account's domains are absent: not listed, 404 on show, delete and validate", async () => {
    const mine = await create('tenant.example.test');
    const other = await h.newAccount('domains-tenant-b');
    const list = (await (await h.api('/v3/whitelabel/domains', { key: other.apiKey })).json()) as DomainBody[];
    assert.equal(list.some((d) => d.id === mine.id), false);
    assert.equal((await h.api(`/v3/whitelabel/domains/${mine.id}`, { key: other.apiKey })).status, 404);
    assert.equal((await h.api(`/v3/whitelabel/domains/${mine.id}`, { method: 'DELETE', key: other.apiKey })).status, 404);
    assert.equal((await h.api(`/v3/whitelabel/domains/${mine.id}/validate`, { method: 'POST', key: other.apiKey })).status, 404);
    assert.equal((await h.api(`/v3/whitelabel/domains/${mine.id}`)).status, 200, 'still there for its owner');
    // The same domain name is another account's own business.
    const theirs = await create('tenant.example.test', other.apiKey);
    assert.notEqual(theirs.id, mine.id);
    assert.notEqual(theirs.dns.dkim1.data, mine.dns.dkim1.data, 'each account has its own keys');
  });

  test('each verb needs its whitelabel scope', async () => {
    const readOnly = await h.newKey(['whitelabel.read']);
    const d = await create('scopes.example.test');
    assert.equal((await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain: 'x.example.test' }, key: readOnly })).status, 403);
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}/validate`, { method: 'POST', key: readOnly })).status, 403);
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}`, { method: 'DELETE', key: readOnly })).status, 403);
    assert.equal((await h.api(`/v3/whitelabel/domains/${d.id}`, { key: readOnly })).status, 200);
    const mailOnly = await h.newKey(['mail.send']);
    assert.equal((await h.api('/v3/whitelabel/domains', { key: mailOnly })).status, 403);
    assert.equal((await h.api('/v3/whitelabel/domains', { key: null })).status, 401);
  });

  test('ids that are not positive integers match nothing', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '99999999999999999999', '1e3']) {
      assert.equal((await h.api(`/v3/whitelabel/domains/${id}`)).status, 404, id);
    }
  });

  const BAD: [string, unknown, string, string | null][] = [
    ['no domain', {}, 'HERALD_ERR_MISSING_FIELD', 'domain'],
    ['domain null', { domain: null }, 'HERALD_ERR_MISSING_FIELD', 'domain'],
    ['domain a number', { domain: 42 }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['empty domain', { domain: '' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a single label', { domain: 'localhost' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a space', { domain: 'exa mple.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['CRLF', { domain: 'example.com\r\nX-Evil: 1' }, 'HERALD_ERR_HEADER_INJECTION', 'domain'],
    ['a bare LF', { domain: 'example.com\n' }, 'HERALD_ERR_HEADER_INJECTION', 'domain'],
    ['a leading hyphen', { domain: '-bad.example.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['an empty label', { domain: 'a..example.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['an IP address', { domain: '192.0.2.1' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['an address', { domain: 'user@example.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a port', { domain: 'example.com:25' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a wildcard', { domain: '*.example.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a URL', { domain: 'https://example.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a label of 64', { domain: `${'a'.repeat(64)}.example.com` }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['254 characters', { domain: `${'abcdefghi.'.repeat(25)}test` }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['10 kB', { domain: 'a'.repeat(10_000) + '.com' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a unicode label', { domain: 'bücher.example' }, 'HERALD_ERR_INVALID_DOMAIN', 'domain'],
    ['a bad selector', { domain: 'ok.example.com', custom_dkim_selector: 'Bad Selector' }, 'HERALD_ERR_INVALID_FIELD', 'custom_dkim_selector'],
    ['an unknown field', { domain: 'ok.example.com', private_key: 'x' }, 'HERALD_ERR_INVALID_FIELD', 'private_key'],
    ['an array body', [{ domain: 'ok.example.com' }], 'HERALD_ERR_INVALID_FIELD', null],
  ];
  for (const [what, body, code, field] of BAD) {
    test(`a body with ${what} is refused with 400 in SendGrid's shape`, async () => {
      const res = await h.api('/v3/whitelabel/domains', { method: 'POST', json: body });
      assert.equal(res.status, 400);
      const { errors } = (await res.json()) as ErrorBody;
      assert.equal(errors[0]!.code, code);
      assert.equal(errors[0]!.field, field);
      assert.equal(typeof errors[0]!.message, 'string');
      assert.match(errors[0]!.help, /^docs\/errors\.md#herald-err-/);
    });
  }

  test('the same domain twice is refused, whatever its case or trailing dot', async () => {
    await create('dup.example.test');
    for (const domain of ['dup.example.test', 'DUP.example.test.']) {
      const res = await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain } });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as ErrorBody).errors[0]!.code, 'HERALD_ERR_DUPLICATE_DOMAIN');
    }
  });

  test('a custom selector and SendGrid fields Herald ignores are accepted', async () => {
    const res = await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain: 'custom.example.test', custom_dkim_selector: 'k1', subdomain: 'em', automatic_security: false, default: true, ips: [] } });
    assert.equal(res.status, 201);
    const d = (await res.json()) as DomainBody;
    assert.equal(d.dns.dkim1.host, 'k1r._domainkey.custom.example.test');
    assert.equal(d.dns.dkim2.host, 'k1e._domainkey.custom.example.test');
  });
});
