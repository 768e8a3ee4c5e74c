import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { simpleParser, type AddressObject } from 'mailparser';
import { startSmtpSink, type SinkMessage } from '../support/smtp-sink.js';
import { eventually, mailBody, startTestHerald, tempDataDir, type TestHerald } from '../support/test-herald.js';
import { assertHealthyAndAccounted, send, timeline, waitForEvent } from './timeline.js';

const PDF = Buffer.from('%PDF-1.4\n% Herald test attachment \x00\x01\x02\xff\n%%EOF\n', 'latin1');
const FAST_RETRY = { retryBaseMs: 50, retryMaxMs: 200 };

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  return (Array.isArray(field) ? field : [field]).flatMap((a) => a.value.map((v) => v.address ?? ''));
}

function byRecipient(messages: SinkMessage[]): Map<string, SinkMessage> {
  return new Map(messages.map((m) => [m.to.join(','), m]));
}

test('a message sent over HTTP reaches the relay intact, one SMTP envelope per recipient', async (t) => {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const herald = await startTestHerald({ smtpRelay: sink.url, hostname: 'herald.test' });
  t.after(() => herald.close());

  const { requestId, msgIds } = await send(
    herald,
    mailBody({
      personalizations: [
        {
          to: [{ email: 'ann@example.com', name: 'Ann Example' }, { email: 'bob@example.net' }],
          cc: [{ email: 'cat@example.org' }],
          bcc: [{ email: 'dan@example.com' }],
        },
      ],
      from: { email: 'news@sender.example', name: 'Sender News' },
      subject: 'Quarterly report — Q3',
      content: [
        { type: 'text/plain', value: 'Plain body\n.leading dot line\nlast line' },
        { type: 'text/html', value: '<p>HTML <b>body</b></p>' },
      ],
      attachments: [{ content: PDF.toString('base64'), filename: 'report.pdf', type: 'application/pdf' }],
    }),
  );
  assert.equal(msgIds.length, 4);
  await sink.waitFor(4);

  const received = byRecipient(sink.messages);
  assert.deepEqual([...received.keys()].sort(), ['ann@example.com', 'bob@example.net', 'cat@example.org', 'dan@example.com']);
  const messageIds = new Set<string>();
  for (const [rcpt, msg] of received) {
    assert.equal(msg.from, 'news@sender.example', `envelope MAIL FROM for ${rcpt}`);
    assert.equal(msg.to.length, 1, `one RCPT TO per envelope for ${rcpt}`);
    const parsed = await simpleParser(msg.raw);
    assert.equal(parsed.from?.value[0]?.address, 'news@sender.example');
    assert.equal(parsed.from?.value[0]?.name, 'Sender News');
    assert.deepEqual(addresses(parsed.to).sort(), ['ann@example.com', 'bob@example.net']);
    assert.deepEqual(addresses(parsed.cc), ['cat@example.org']);
    assert.equal(parsed.headers.has('bcc'), false, 'Bcc never appears in the headers');
    assert.equal(parsed.subject, 'Quarterly report — Q3');
    assert.ok(parsed.date instanceof Date && !Number.isNaN(parsed.date.getTime()), 'a valid Date header');
    assert.match(parsed.messageId ?? '', new RegExp(`^<${requestId}\\.\\d+@herald\\.test>$`));
    messageIds.add(parsed.messageId!);
    assert.equal(parsed.text?.trim(), 'Plain body\n.leading dot line\nlast line', 'dot-stuffing is undone end to end');
    assert.equal(typeof parsed.html === 'string' && parsed.html.includes('<p>HTML <b>body</b></p>'), true);
    assert.equal(parsed.attachments.length, 1);
    const attachment = parsed.attachments[0]!;
    assert.equal(attachment.filename, 'report.pdf');
    assert.equal(attachment.contentType, 'application/pdf');
    assert.ok(attachment.content.equals(PDF), 'attachment bytes survive');
  }
  assert.equal(messageIds.size, 4, 'each recipient gets its own Message-ID');
  await assertHealthyAndAccounted(herald, msgIds);
});

test('delivery through a relay that requires STARTTLS and AUTH', async (t) => {
  const auth = { user: 'relay-user', pass: 's3cret/with:odd@chars' };
  const sink = await startSmtpSink({ startTls: true, auth });
  t.after(() => sink.close());
  const relay = `smtp://${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@127.0.0.1:${sink.port}`;
  const herald = await startTestHerald({ smtpRelay: relay, smtpRelayTlsVerify: false });
  t.after(() => herald.close());

  const { msgIds } = await send(herald);
  // The sink refuses AUTH before STARTTLS, so an accepted message proves TLS then AUTH happened.
  await sink.waitFor(1);
  assert.deepEqual(sink.messages[0]!.to, ['rcpt@example.com']);
  const { timeline: tl } = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.equal(tl.status, 'delivered');
});

test(
  'a wrong relay password defers the message, and it is delivered once the password is fixed',
  {},
  async (t) => {
    const auth = { user: 'relay-user', pass: 'right' };
    const sink = await startSmtpSink({ startTls: true, auth });
    t.after(() => sink.close());
    const dataDir = tempDataDir();
    const wrong = await startTestHerald(
      { smtpRelay: `smtp://relay-user:wrong@127.0.0.1:${sink.port}`, smtpRelayTlsVerify: false, ...FAST_RETRY },
      { dataDir, keepDataDir: true },
    );
    let right: TestHerald | undefined;
    t.after(async () => {
      await wrong.stop();
      await right?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const { msgIds } = await send(wrong);
    const msgId = msgIds[0]!;

    // 535 is the relay refusing Herald's credentials, not the recipient refusing the message.
    const tl = await eventually(async () => {
      const current = await timeline(wrong, msgId);
      return current.events.length > 1 ? current : undefined;
    }, 20_000, `an outcome for ${msgId}`);
    assert.deepEqual(tl.events.map((e) => e.event_name).slice(0, 2), ['processed', 'deferred'], 'an authentication failure defers, never bounces');
    assert.match(tl.events[1]!.response ?? '', /535/);
    assert.equal(tl.status, 'processed');
    assert.equal(sink.count, 0);
    await assertHealthyAndAccounted(wrong, msgIds);
    await wrong.stop();

    right = await startTestHerald({ smtpRelay: `smtp://relay-user:right@127.0.0.1:${sink.port}`, smtpRelayTlsVerify: false, ...FAST_RETRY }, { dataDir, keepDataDir: true });
    await sink.waitFor(1);
    const delivered = await waitForEvent(right, msgId, 'delivered');
    assert.equal(delivered.timeline.status, 'delivered');
    assert.ok(delivered.event.attempt_num > 1, `delivered on attempt ${delivered.event.attempt_num}`);
  },
);

test('the delivered event records the relay response and the message status becomes delivered', async (t) => {
  const sink = await startSmtpSink({ reply: () => ({ code: 250, message: 'Ok: queued as 7F3A2B1C0D' }) });
  t.after(() => sink.close());
  const herald = await startTestHerald({ smtpRelay: sink.url });
  t.after(() => herald.close());

  const { msgIds } = await send(herald);
  const { event } = await waitForEvent(herald, msgIds[0]!, 'delivered');
  assert.match(event.response ?? '', /^250 .*queued as 7F3A2B1C0D/);
  assert.equal(event.attempt_num, 1);
  assert.equal(event.mx_server, '127.0.0.1');
  const tl = await timeline(herald, msgIds[0]!);
  assert.equal(tl.status, 'delivered');
  assert.deepEqual(
    tl.events.map((e) => e.event_name),
    ['processed', 'delivered'],
  );
});

test('with smtpRelayTlsVerify on, a relay with an untrusted certificate never gets the message', async (t) => {
  const auth = { user: 'relay-user', pass: 'pw' };
  const sink = await startSmtpSink({ startTls: true, auth });
  t.after(() => sink.close());
  const herald = await startTestHerald({ smtpRelay: `smtp://relay-user:pw@127.0.0.1:${sink.port}`, smtpRelayTlsVerify: true, ...FAST_RETRY });
  t.after(() => herald.close());

  const { msgIds } = await send(herald);
  const tl = await eventually(async () => {
    const current = await timeline(herald, msgIds[0]!);
    return current.events.length > 1 ? current : undefined;
  }, 20_000, 'an outcome');
  // A certificate problem is the relay's or the operator's, not the recipient's: retry, never bounce.
  assert.equal(tl.events[1]!.event_name, 'deferred', JSON.stringify(tl.events[1]));
  assert.match(tl.events[1]!.response ?? '', /certificate|self[- ]signed|TLS/i);
  assert.equal(sink.count, 0, 'nothing was sent over an unverified connection');
  await assertHealthyAndAccounted(herald, msgIds);
});
