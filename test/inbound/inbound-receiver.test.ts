import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { SigningKeys } from '../../src/ops/signing-keys.js';
import { ReturnPaths } from '../../src/inbound/return-path.js';
import { loadConfig } from '../../src/config/load.js';
import { connectSmtp, sendMail, type RawSmtp } from './smtp-client.js';
import { fixture } from './fixtures.js';

const DOMAIN = 'bounces.herald.test';

interface EventJson {
  event_name: string;
  reason: string | null;
  bounce_type: string | null;
  mx_server: string | null;
  attempt_num: number;
}
interface MessageJson {
  status: string;
  events: EventJson[];
}

describe('inbound receiver', () => {
  let sink: SmtpSink;
  let herald: TestHerald;
  let port: number;
  let paths: ReturnPaths;
  let hostname: string;

  before(async () => {
    sink = await startSmtpSink();
    herald = await startTestHerald({
      deliveryTransport: 'relay',
      smtpRelay: sink.url,
      returnPathDomain: DOMAIN,
      inboundPort: 0,
      inboundHost: '127.0.0.1',
      inboundMaxMessageBytes: 64 * 1024,
      inboundMaxRecipients: 3,
      inboundMaxConnectionsPerIp: 4,
    });
    port = herald.inboundPort!;
    hostname = herald.config.hostname;
    paths = new ReturnPaths(await SigningKeys.load(null, herald.backend.secrets), DOMAIN);
  });
  after(async () => {
    await herald.close();
    await sink.close();
  });

  /** Sends one message to `recipient` and waits until the relay took it; returns its id and return path. */
  async function deliver(recipient: string, key?: string): Promise<{ msgId: string; returnPath: string; raw: Buffer }> {
    const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: recipient }] }] }), ...(key ? { key } : {}) });
    assert.equal(res.status, 202);
    const msgId = `${res.headers.get('x-message-id')}.0`;
    const got = await eventually(async () => sink.messages.find((m) => m.to.includes(recipient)), 15_000, `delivery to ${recipient}`);
    await eventually(async () => (await message(msgId, key)).status === 'delivered', 15_000, 'the delivered event');
    return { msgId, returnPath: got.from, raw: got.raw };
  }

  async function message(msgId: string, key?: string): Promise<MessageJson> {
    const res = await herald.api(`/v3/messages/${msgId}`, key ? { key } : {});
    assert.equal(res.status, 200);
    return (await res.json()) as MessageJson;
  }

  function values(d: { msgId: string; returnPath: string }, recipient: string) {
    return { RETURN_PATH: d.returnPath, RECIPIENT: recipient, MESSAGE_ID: `${d.msgId}@${hostname}`, FBL_ADDRESS: `abuse@${DOMAIN}` };
  }

  test('every delivery goes out with a return path naming its message, and without a Return-Path header', async () => {
    const d = await deliver('verp@example.net');
    assert.match(d.returnPath, new RegExp(`^bounces\\+[a-z2-7]{40,56}@${DOMAIN.replaceAll('.', '\\.')}$`));
    assert.ok(d.returnPath.split('@')[0]!.length <= 64);
    assert.deepEqual(paths.parse(d.returnPath), { kind: 'token', messageId: d.msgId });
    const head = d.raw.subarray(0, d.raw.indexOf('\r\n\r\n')).toString('latin1');
    assert.doesNotMatch(head, /^Return-Path:/im);
  });

  test("a Gmail DSN after a 250 bounces the message, suppresses the address, and the next send is dropped; twice counts once", async () => {
    const rcpt = 'gone-gmail@example.net';
    const d = await deliver(rcpt);
    const dsn = fixture('gmail-dsn.eml', values(d, rcpt));
    for (let i = 0; i < 2; i++) {
      const { dataReply } = await sendMail(port, { from: '', to: [d.returnPath] }, dsn);
      assert.match(dataReply!, /^250 2\.0\.0 /);
    }
    const m = await message(d.msgId);
    assert.equal(m.status, 'not_delivered');
    const bounces = m.events.filter((e) => e.event_name === 'bounced');
    assert.equal(bounces.length, 1, 'the same DSN received twice counts once');
    assert.equal(bounces[0]!.bounce_type, 'bounce');
    assert.match(bounces[0]!.reason!, /^550-5\.1\.1 The email account that you tried to reach does not exist/);
    assert.match(bounces[0]!.mx_server!, /^gmail-smtp-in\.l\.google\.com/);
    const list = (await (await herald.api('/v3/suppression/bounces')).json()) as { email: string; status: string }[];
    assert.ok(list.some((s) => s.email === rcpt && s.status === '5.1.1'), JSON.stringify(list));
    // The next message to the address is dropped at delivery.
    const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: rcpt }] }] }) });
    const next = `${res.headers.get('x-message-id')}.0`;
    await eventually(async () => (await message(next)).events.some((e) => e.event_name === 'dropped'), 15_000, 'the drop');
    assert.equal((await message(next)).events.find((e) => e.event_name === 'dropped')!.reason, 'Bounced Address');
  });

  test('a bounce changes only the account that sent the message', async () => {
    const other = await herald.newAccount('other-tenant');
    const rcpt = 'tenant@example.net';
    const d = await deliver(rcpt, other.apiKey);
    assert.match((await sendMail(port, { from: '', to: [d.returnPath] }, fixture('gmail-dsn.eml', values(d, rcpt)))).dataReply!, /^250/);
    assert.equal((await message(d.msgId, other.apiKey)).status, 'not_delivered');
    assert.equal((await herald.api(`/v3/messages/${d.msgId}`)).status, 404);
    const mine = (await (await herald.api('/v3/suppression/bounces')).json()) as { email: string }[];
    assert.ok(!mine.some((s) => s.email === rcpt));
    const theirs = (await (await herald.api('/v3/suppression/bounces', { key: other.apiKey })).json()) as { email: string }[];
    assert.ok(theirs.some((s) => s.email === rcpt));
  });

  test("a Microsoft NDR (550 5.5.0 mailbox unavailable) is a blocked bounce on the blocks list", async () => {
    const rcpt = 'gone-outlook@example.net';
    const d = await deliver(rcpt);
    const { dataReply } = await sendMail(port, { from: '', to: [d.returnPath] }, fixture('outlook-ndr.eml', values(d, rcpt)));
    assert.match(dataReply!, /^250 /);
    const bounce = (await message(d.msgId)).events.find((e) => e.event_name === 'bounced')!;
    assert.equal(bounce.bounce_type, 'blocked');
    assert.match(bounce.reason!, /^550 5\.5\.0 Requested action not taken: mailbox unavailable/);
    assert.equal(bounce.mx_server, 'BN8NAM12HT123.mail.protection.outlook.com');
    const blocks = (await (await herald.api('/v3/suppression/blocks')).json()) as { email: string }[];
    assert.ok(blocks.some((s) => s.email === rcpt));
  });

  test("Yahoo's plain-text failure notice bounces the address", async () => {
    const rcpt = 'gone-yahoo@example.net';
    const d = await deliver(rcpt);
    assert.match((await sendMail(port, { from: '', to: [d.returnPath] }, fixture('yahoo-failure.eml', values(d, rcpt)))).dataReply!, /^250 /);
    const m = await message(d.msgId);
    assert.equal(m.status, 'not_delivered');
    const bounce = m.events.find((e) => e.event_name === 'bounced')!;
    assert.equal(bounce.bounce_type, 'bounce');
    assert.equal(bounce.mx_server, 'mta1047.mail.gq1.yahoo.com');
    assert.ok((await herald.backend.suppressions.find((await herald.backend.accounts.findAccountByName('default'))!.id, rcpt, null))?.list === 'bounces');
  });

  test('an ARF abuse report to the feedback address is a spam report that suppresses; the same report twice counts once', async () => {
    const rcpt = 'complainer@example.net';
    const d = await deliver(rcpt);
    const arf = fixture('yahoo-arf-complaint.eml', values(d, rcpt));
    for (let i = 0; i < 2; i++) assert.match((await sendMail(port, { from: 'feedback@arf.mail.yahoo.com', to: [`abuse@${DOMAIN}`] }, arf)).dataReply!, /^250 /);
    const m = await message(d.msgId);
    assert.equal(m.events.filter((e) => e.event_name === 'spamreport').length, 1);
    assert.equal(m.status, 'delivered');
    const list = (await (await herald.api('/v3/suppression/spam_reports')).json()) as { email: string }[];
    assert.ok(list.some((s) => s.email === rcpt));
  });

  test('an AOL complaint with the recipient redacted is placed by the Message-ID of the returned header', async () => {
    const rcpt = 'aol-user@example.net';
    const d = await deliver(rcpt);
    assert.match((await sendMail(port, { from: 'scomp@aol.net', to: [`abuse@${DOMAIN}`] }, fixture('aol-arf-redacted.eml', values(d, rcpt)))).dataReply!, /^250 /);
    assert.equal((await message(d.msgId)).events.filter((e) => e.event_name === 'spamreport').length, 1);
  });

  test("a DSN to postmaster is matched by the returned Message-ID only when it names the message's recipient", async () => {
    const rcpt = 'by-message-id@example.net';
    const d = await deliver(rcpt);
    // Names another recipient: not trusted, accepted and ignored.
    const wrong = fixture('gmail-dsn.eml', { ...values(d, 'someone-else@example.net'), RETURN_PATH: `postmaster@${DOMAIN}` });
    assert.match((await sendMail(port, { from: '', to: [`postmaster@${DOMAIN}`] }, wrong)).dataReply!, /^250 /);
    assert.equal((await message(d.msgId)).status, 'delivered');
    const right = fixture('gmail-dsn.eml', { ...values(d, rcpt), RETURN_PATH: `postmaster@${DOMAIN}` });
    assert.match((await sendMail(port, { from: '', to: [`postmaster@${DOMAIN}`] }, right)).dataReply!, /^250 /);
    assert.equal((await message(d.msgId)).status, 'not_delivered');
  });

  test('delayed DSNs and out-of-office replies are accepted and change nothing', async () => {
    const rcpt = 'on-holiday@example.net';
    const d = await deliver(rcpt);
    for (const name of ['delayed-dsn.eml', 'out-of-office.eml']) {
      assert.match((await sendMail(port, { from: '', to: [d.returnPath] }, fixture(name, values(d, rcpt)))).dataReply!, /^250 /, name);
    }
    const plain = 'From: someone@example.org\r\nSubject: hello\r\n\r\nJust writing back.\r\n';
    assert.match((await sendMail(port, { from: 'someone@example.org', to: [d.returnPath] }, plain)).dataReply!, /^250 /);
    const m = await message(d.msgId);
    assert.equal(m.status, 'delivered');
    assert.deepEqual(m.events.map((e) => e.event_name), ['processed', 'delivered']);
  });

  test('a malformed report is refused with 554 5.6.0 and the session goes on', async () => {
    const rcpt = 'malformed@example.net';
    const d = await deliver(rcpt);
    const c = await connectSmtp(port);
    await c.reply();
    await c.command('EHLO broken.test');
    assert.match(await c.command('MAIL FROM:<>'), /^250/);
    assert.match(await c.command(`RCPT TO:<${d.returnPath}>`), /^250/);
    assert.match(await c.command('DATA'), /^354/);
    c.write(Buffer.concat([fixture('malformed-dsn.eml', values(d, rcpt)), Buffer.from('.\r\n')]));
    assert.match(await c.reply(), /^554 5\.6\.0 malformed report: /);
    assert.match(await c.command('NOOP'), /^250/);
    await c.command('QUIT');
    c.destroy();
    assert.equal((await message(d.msgId)).status, 'delivered');
  });

  test('refuses to relay, refuses forged return paths and unknown mailboxes, and limits recipients', async () => {
    const d = await deliver('rcpt-checks@example.net');
    const c = await connectSmtp(port);
    assert.match(await c.reply(), /^220 /);
    const ehlo = await c.command('EHLO mta.sender.test');
    assert.match(ehlo, /SIZE 65536/);
    assert.doesNotMatch(ehlo, /STARTTLS|AUTH/);
    assert.match(await c.command('MAIL FROM:<>'), /^250/);
    assert.match(await c.command('RCPT TO:<victim@example.org>'), /^550 5\.7\.1 relay access denied/);
    assert.match(await c.command(`RCPT TO:<${d.returnPath}@example.org>`), /^5/);
    const local = d.returnPath.split('@')[0]!;
    const forged = local.slice(0, -3) + (local.endsWith('aaa') ? 'bbb' : 'aaa');
    assert.match(await c.command(`RCPT TO:<${forged}@${DOMAIN}>`), /^550 5\.1\.1 /);
    assert.match(await c.command(`RCPT TO:<bounces+nothex!!@${DOMAIN}>`), /^5/);
    assert.match(await c.command(`RCPT TO:<info@${DOMAIN}>`), /^550 5\.1\.1 /);
    assert.match(await c.command(`RCPT TO:<${d.returnPath.toUpperCase()}>`), /^250/);
    assert.match(await c.command(`RCPT TO:<postmaster@${DOMAIN}>`), /^250/);
    assert.match(await c.command(`RCPT TO:<abuse@${DOMAIN}>`), /^250/);
    assert.match(await c.command(`RCPT TO:<bounces@${DOMAIN}>`), /^452 4\.5\.3 /);
    await c.command('QUIT');
    c.destroy();
  });

  test('a message over the size limit is refused with 552 5.3.4, whether declared or not', async () => {
    const d = await deliver('big@example.net');
    const c = await connectSmtp(port);
    await c.reply();
    await c.command('EHLO mta.sender.test');
    assert.match(await c.command(`MAIL FROM:<> SIZE=${10 * 1024 * 1024}`), /^552/);
    assert.match(await c.command('MAIL FROM:<>'), /^250/);
    assert.match(await c.command(`RCPT TO:<${d.returnPath}>`), /^250/);
    assert.match(await c.command('DATA'), /^354/);
    const line = 'x'.repeat(998) + '\r\n';
    c.write('Subject: big\r\n\r\n' + line.repeat(100) + '.\r\n');
    assert.match(await c.reply(), /^552 5\.3\.4 /);
    assert.match(await c.command('RSET'), /^250/);
    await c.command('QUIT');
    c.destroy();
  });

  test('a client that disconnects in the middle of DATA records nothing, and the receiver keeps serving', async () => {
    const rcpt = 'cut-off@example.net';
    const d = await deliver(rcpt);
    const c = await connectSmtp(port);
    await c.reply();
    await c.command('EHLO mta.sender.test');
    await c.command('MAIL FROM:<>');
    await c.command(`RCPT TO:<${d.returnPath}>`);
    assert.match(await c.command('DATA'), /^354/);
    const dsn = fixture('gmail-dsn.eml', values(d, rcpt));
    // The whole report but no final dot: the message never ended.
    c.write(dsn);
    await new Promise((r) => setTimeout(r, 50));
    c.destroy();
    await c.closed;
    // The next, complete session is served; the partial one left nothing behind.
    const { replies } = await sendMail(port, { from: '', to: [`postmaster@${DOMAIN}`] }, 'Subject: ping\r\n\r\nping\r\n');
    assert.match(replies.at(-2)!, /^250/);
    assert.equal((await message(d.msgId)).status, 'delivered');
  });

  test('a client that leaves right after the final dot still has its report recorded, once', async () => {
    const rcpt = 'hasty@example.net';
    const d = await deliver(rcpt);
    const c = await connectSmtp(port);
    await c.reply();
    await c.command('EHLO mta.sender.test');
    await c.command('MAIL FROM:<>');
    await c.command(`RCPT TO:<${d.returnPath}>`);
    assert.match(await c.command('DATA'), /^354/);
    c.write(Buffer.concat([fixture('gmail-dsn.eml', values(d, rcpt)), Buffer.from('.\r\n')]));
    c.destroy();
    await eventually(async () => (await message(d.msgId)).status === 'not_delivered', 5000, 'the bounce');
    // Its sender, never having seen the 250, sends it again: nothing more is recorded.
    assert.match((await sendMail(port, { from: '', to: [d.returnPath] }, fixture('gmail-dsn.eml', values(d, rcpt)))).dataReply!, /^250 /);
    assert.equal((await message(d.msgId)).events.filter((e) => e.event_name === 'bounced').length, 1);
  });

  test('garbage commands get 500 and, after ten, 421; commands out of order get 503', async () => {
    const c = await connectSmtp(port);
    await c.reply();
    assert.match(await c.command('MAIL FROM:<>'), /^503/);
    assert.match(await c.command('EHLO mta.sender.test'), /^250/);
    assert.match(await c.command('DATA'), /^503/);
    assert.match(await c.command('RCPT TO:<postmaster@bounces.herald.test>'), /^503/);
    let last = '';
    for (let i = 0; i < 12 && !last.startsWith('421'); i++) last = await c.command(`\u0001\u00ff GARBAGE ${'%'.repeat(i * 50)}`).catch(() => '421 (closed)');
    assert.match(last, /^421/);
    await c.closed;
    const { replies } = await sendMail(port, { from: '', to: [`postmaster@${DOMAIN}`] }, 'Subject: ping\r\n\r\nping\r\n');
    assert.match(replies.at(-2)!, /^250/);
  });

  test('what the receiver did is counted in /metrics by outcome', async () => {
    const text = await eventually(async () => {
      const body = await (await fetch(`${herald.url}/metrics`)).text();
      return /herald_inbound_messages_total\{outcome="abandoned"\} [1-9]/.test(body) ? body : null;
    }, 5000, 'the abandoned count');
    for (const outcome of ['recorded', 'duplicate', 'ignored', 'malformed', 'too_large']) {
      assert.match(text, new RegExp(`herald_inbound_messages_total\\{outcome="${outcome}"\\} [1-9]`), outcome);
    }
  });

  test('connections past the limit for one address are answered 421 4.7.0', async () => {
    const open: RawSmtp[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const c = await connectSmtp(port);
        assert.match(await c.reply(), /^220/);
        open.push(c);
      }
      const extra = await connectSmtp(port);
      assert.match(await extra.reply(), /^421 4\.7\.0 /);
      await extra.closed;
    } finally {
      for (const c of open) c.destroy();
      await Promise.all(open.map((c) => c.closed));
    }
    await eventually(async () => {
      const c = await connectSmtp(port);
      const greeting = await c.reply();
      c.destroy();
      return greeting.startsWith('220');
    }, 5000, 'a free connection slot');
  });
});

test('the inbound receiver needs a return-path domain, and an empty HERALD_INBOUND_PORT turns it off', async () => {
  await assert.rejects(startTestHerald({ inboundPort: 0 }), /returnPathDomain/);
  assert.equal(loadConfig({ env: { HERALD_INBOUND_PORT: '' } }).inboundPort, null);
  assert.equal(loadConfig({ env: { HERALD_INBOUND_PORT: '2525' } }).inboundPort, 2525);
  assert.throws(() => loadConfig({ env: { HERALD_INBOUND_PORT: 'smtp' } }), /inboundPort/);
  assert.throws(() => loadConfig({ env: { HERALD_RETURN_PATH_DOMAIN: 'not a domain' } }), /returnPathDomain/);
});

test('stopping Herald closes idle inbound sessions with 421 and returns', async () => {
  const herald = await startTestHerald({ returnPathDomain: DOMAIN, inboundPort: 0, inboundHost: '127.0.0.1', shutdownGraceMs: 200 });
  const c = await connectSmtp(herald.inboundPort!);
  await c.reply();
  assert.match(await c.command('EHLO mta.sender.test'), /^250/);
  await herald.close();
  assert.match(await c.reply(), /^421/);
  await c.closed;
});

test('without the inbound role or a port, no receiver runs; without a return-path domain, MAIL FROM is the From address', async (t) => {
  const sink = await startSmtpSink();
  const herald = await startTestHerald({ roles: 'api,delivery', deliveryTransport: 'relay', smtpRelay: sink.url, inboundPort: 0, returnPathDomain: null });
  t.after(async () => {
    await herald.close();
    await sink.close();
  });
  assert.equal(herald.inboundPort, null);
  assert.equal((await herald.api('/v3/mail/send', { method: 'POST', json: mailBody() })).status, 202);
  await sink.waitFor(1);
  assert.equal(sink.messages[0]!.from, 'sender@example.com');
});
