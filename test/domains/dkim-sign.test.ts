import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { signMessage } from '../../src/domains/dkim-sign.js';
import { generateDkimKeys } from '../../src/domains/dkim-keys.js';
import { dkimHost, dkimRecordData } from '../../src/domains/dns-records.js';
import type { DkimSigningKey, NewDkimKey } from '../../src/domains/domain-store.js';
import { startDnsServer, type DnsTestServer } from '../support/dns-server.js';
import { publish, resolverFor } from './support.js';

const DOMAIN = 'signer.test';

/** mailauth reports the algorithm as `algo`, whatever its typings say. */
const algo = (result: object): unknown => (result as { algo?: unknown }).algo;

/** Lines starting with dots, trailing spaces and tabs, runs of blanks, empty lines at the end. */
const TRICKY_BODY = [
  'Hello,',
  '.',
  '..two dots',
  '. dot space   ',
  'trailing spaces   ',
  'trailing tab\t',
  'inner   \t  runs',
  '',
  '   leading spaces',
  '',
  '',
  '',
].join('\r\n');

function message(body: string, extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [
      'From: "Sender Name" <news@signer.test>',
      'To: rcpt@example.com,',
      '   other@example.com',
      'Cc: copy@example.com',
      'Reply-To: replies@signer.test',
      'Subject:    Folded   and',
      '\tspaced subject ünïcode',
      'Date: Mon, 23 Nov 2026 10:00:00 +0000',
      'Message-ID: <abc.123@signer.test>',
      'List-Unsubscribe: <https://signer.test/u/1>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      ...extraHeaders,
      '',
      body,
    ].join('\r\n'),
    'utf8',
  );
}

describe('DKIM signing, verified by mailauth against published keys', () => {
  let dns: DnsTestServer;
  let keys: NewDkimKey[];
  let rsa: DkimSigningKey;
  let ed: DkimSigningKey;
  const verify = async (raw: Buffer) => (await dkimVerify(raw, { resolver: resolverFor(dns) })).results;

  before(async () => {
    dns = await startDnsServer();
    keys = generateDkimKeys('t1');
    publish(dns, keys.map((k) => ({ host: dkimHost(DOMAIN, k.selector), data: dkimRecordData(k) })));
    const signing = (k: NewDkimKey): DkimSigningKey => ({ domain: DOMAIN, selector: k.selector, privateKeyPem: k.privateKeyPem, algorithm: k.algorithm });
    rsa = signing(keys.find((k) => k.algorithm === 'rsa-sha256')!);
    ed = signing(keys.find((k) => k.algorithm === 'ed25519-sha256')!);
  });
  after(() => dns.close());

  test('an RSA-SHA256 signature over a body with leading dots and trailing whitespace passes', async () => {
    const results = await verify(signMessage(message(TRICKY_BODY), [rsa]));
    assert.equal(results.length, 1);
    assert.equal(results[0]!.status.result, 'pass', results[0]!.status.comment);
    assert.equal(results[0]!.signingDomain, DOMAIN);
    assert.equal(algo(results[0]!), 'rsa-sha256');
  });

  test('an Ed25519-SHA256 signature (RFC 8463) passes', async () => {
    const results = await verify(signMessage(message(TRICKY_BODY), [ed]));
    assert.equal(results.length, 1);
    assert.equal(results[0]!.status.result, 'pass', results[0]!.status.comment);
    assert.equal(algo(results[0]!), 'ed25519-sha256');
  });

  test('both signatures on one message pass, and each names its selector', async () => {
    const results = await verify(signMessage(message(TRICKY_BODY), [rsa, ed]));
    assert.deepEqual(results.map((r) => r.status.result), ['pass', 'pass']);
    assert.deepEqual(results.map((r) => r.selector).sort(), [rsa.selector, ed.selector].sort());
  });

  test('an empty body and a body without a final line break both pass', async () => {
    for (const body of ['', 'no final line break', '\r\n\r\n']) {
      for (const key of [rsa, ed]) {
        const [result] = await verify(signMessage(message(body), [key]));
        assert.equal(result!.status.result, 'pass', `${JSON.stringify(body)} ${key.algorithm}: ${result!.status.comment}`);
      }
    }
  });

  test('a MIME message from nodemailer with HTML and an attachment passes', async () => {
    const raw = await new MailComposer({
      from: 'news@signer.test',
      to: 'rcpt@example.com',
      subject: 'MIME',
      text: 'text part\n.\nwith dot',
      html: '<p>html part</p>',
      attachments: [{ filename: 'a.txt', content: 'attached\r\n.line\r\n' }],
      messageId: '<m1@signer.test>',
      date: new Date(0),
    })
      .compile()
      .build();
    const results = await verify(signMessage(raw, [rsa, ed]));
    assert.deepEqual(results.map((r) => r.status.result), ['pass', 'pass']);
  });

  test('a changed body, a changed subject or an added From fails verification', async () => {
    const signed = signMessage(message(TRICKY_BODY), [rsa, ed]).toString('latin1');
    const tampered = [
      signed.replace('trailing spaces', 'trailing spaces!'),
      signed.replace('Folded   and', 'Folded   but'),
      signed.replace('MIME-Version: 1.0', 'From: attacker@evil.test\r\nMIME-Version: 1.0'),
    ];
    for (const t of tampered) {
      const results = await verify(Buffer.from(t, 'latin1'));
      assert.equal(results.length, 2);
      // mailauth answers neutral to a body hash mismatch and fail to a bad header signature: never pass.
      for (const r of results) assert.notEqual(r.status.result, 'pass', 'a tampered message passed');
    }
  });

  test('whitespace changes that relaxed canonicalisation allows still pass', async () => {
    const signed = signMessage(message(TRICKY_BODY), [rsa]).toString('latin1');
    const rewrapped = signed.replace('Subject:    Folded   and', 'subject: Folded and').replace('trailing tab\t', 'trailing tab  ');
    const [result] = await verify(Buffer.from(rewrapped, 'latin1'));
    assert.equal(result!.status.result, 'pass', result!.status.comment);
  });

  test('the signature lists the headers present and over-signs From', async () => {
    const signed = signMessage(message('x'), [rsa]).toString('latin1');
    const h = /[;\s]h=([^;]+);/.exec(signed.replace(/\r\n\t/g, ' '))![1]!.split(':');
    for (const name of ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'reply-to', 'list-unsubscribe']) {
      assert.ok(h.includes(name), `h= lacks ${name}`);
    }
    assert.equal(h.filter((n) => n === 'from').length, 2);
  });

  test('a key published with another public key fails', async () => {
    const other = generateDkimKeys('t2')[1]!;
    dns.set(dkimHost(DOMAIN, 'wrong'), 'TXT', [{ data: dkimRecordData(other) }]);
    const [result] = await verify(signMessage(message('x'), [{ ...ed, selector: 'wrong' }]));
    assert.equal(result!.status.result, 'fail');
  });

  test('no keys: the message is returned unchanged', () => {
    const raw = message('x');
    assert.equal(signMessage(raw, []), raw);
  });
});
