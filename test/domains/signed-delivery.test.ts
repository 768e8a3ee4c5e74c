import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { startTestHerald, mailBody, type TestHerald } from '../support/test-herald.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startDnsServer, type DnsTestServer } from '../support/dns-server.js';
import { publish, resolverFor } from './support.js';

type Entry = { host: string; data: string };

let dns: DnsTestServer;
let sink: SmtpSink;
let h: TestHerald;

before(async () => {
  dns = await startDnsServer();
  sink = await startSmtpSink();
  h = await startTestHerald({ dnsCheckServers: `127.0.0.1:${dns.port}`, smtpRelay: sink.url });
});
after(async () => {
  await h.close();
  await sink.close();
  await dns.close();
});

async function deliveredRaw(from: string, subject: string): Promise<Buffer> {
  const res = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ from: { email: from }, subject }) });
  assert.equal(res.status, 202, await res.text());
  const found = await (async () => {
    for (let i = 0; i < 500; i++) {
      const m = sink.messages.find((x) => x.raw.toString().includes(`Subject: ${subject}`));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  })();
  assert.ok(found, `message "${subject}" never reached the relay`);
  return found.raw;
}

test('mail from a verified domain leaves DKIM-signed with RSA and Ed25519, and verifies against the published keys', async () => {
  const created = await h.api('/v3/whitelabel/domains', { method: 'POST', json: { domain: 'signed.example.test' } });
  const text = await created.text();
  assert.equal(created.status, 201, text);
  const domain = JSON.parse(text) as { id: number; dns: Record<string, Entry> };
  publish(dns, [domain.dns.dkim1!, domain.dns.dkim2!]);
  const check = (await (await h.api(`/v3/whitelabel/domains/${domain.id}/validate`, { method: 'POST' })).json()) as { valid: boolean };
  assert.equal(check.valid, true);

  const raw = await deliveredRaw('news@signed.example.test', 'signed one');
  const results = (await dkimVerify(raw, { resolver: resolverFor(dns) })).results as { status: { result: string }; signingDomain: string }[];
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.status.result, 'pass');
    assert.equal(r.signingDomain, 'signed.example.test');
  }
});

test('mail from a domain that is not verified goes out unsigned', async () => {
  const raw = await deliveredRaw('someone@unverified.example.test', 'unsigned one');
  assert.doesNotMatch(raw.toString(), /^DKIM-Signature:/im);
});
