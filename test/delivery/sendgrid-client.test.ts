import { test } from 'node:test';
import assert from 'node:assert/strict';
import sgMail, { type ClientResponse } from '@sendgrid/mail';
import { Client } from '@sendgrid/client';
import { simpleParser, type AddressObject } from 'mailparser';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestHerald, type TestHerald } from '../support/test-herald.js';
import { timeline, waitForEvent } from './timeline.js';

const LOGO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10, 0x80, 0x7f]);

/**
 * The official SDK with nothing changed but its base URL. `setApiKey` resets the base URL to
 * SendGrid's region host, so the URL is set on the client after the key (as @sendgrid/client's
 * USAGE.md does with `setDefaultRequest('baseUrl', ...)`).
 */
function pointSdkAt(herald: TestHerald, apiKey = herald.apiKey): void {
  const client = new Client();
  client.setApiKey(apiKey);
  client.setDefaultRequest('baseUrl', herald.url);
  sgMail.setClient(client);
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  return (Array.isArray(field) ? field : [field]).flatMap((a) => a.value.map((v) => v.address ?? ''));
}

async function relayedHerald(t: { after(fn: () => Promise<void>): void }): Promise<{ herald: TestHerald; sink: SmtpSink }> {
  const sink = await startSmtpSink();
  t.after(() => sink.close());
  const herald = await startTestHerald({ smtpRelay: sink.url });
  t.after(() => herald.close());
  return { herald, sink };
}

test('@sendgrid/mail sends through Herald: 202 with X-Message-Id, and the relay gets the message intact', async (t) => {
  const { herald, sink } = await relayedHerald(t);
  pointSdkAt(herald);

  const [response] = await sgMail.send({
    to: { email: 'ann@example.com', name: 'Ann' },
    cc: 'carl@example.org',
    from: { email: 'billing@shop.example', name: 'Shop Billing' },
    replyTo: 'support@shop.example',
    subject: 'Your invoice #1042 ✓',
    text: 'Invoice attached.\nThank you.',
    html: '<h1>Invoice</h1><p>Thank you.</p>',
    attachments: [{ content: LOGO.toString('base64'), filename: 'logo.png', type: 'image/png', disposition: 'attachment' }],
    categories: ['invoice', 'billing'],
    customArgs: { order_id: '1042', tenant: 'acme' },
  });
  assert.equal(response.statusCode, 202);
  const requestId = response.headers['x-message-id'] as string | undefined;
  assert.match(requestId ?? '', /^[A-Za-z0-9]{22}$/);

  await sink.waitFor(2);
  assert.deepEqual(sink.messages.map((m) => m.to[0]).sort(), ['ann@example.com', 'carl@example.org']);
  for (const raw of sink.messages) {
    assert.equal(raw.from, 'billing@shop.example');
    const mail = await simpleParser(raw.raw);
    assert.equal(mail.subject, 'Your invoice #1042 ✓');
    assert.equal(mail.text?.trim(), 'Invoice attached.\nThank you.');
    assert.equal(mail.html, '<h1>Invoice</h1><p>Thank you.</p>');
    assert.equal(mail.from?.value[0]?.name, 'Shop Billing');
    assert.deepEqual(addresses(mail.to), ['ann@example.com']);
    assert.deepEqual(addresses(mail.cc), ['carl@example.org']);
    assert.deepEqual(addresses(mail.replyTo), ['support@shop.example']);
    assert.equal(mail.attachments.length, 1);
    assert.equal(mail.attachments[0]!.filename, 'logo.png');
    assert.ok(mail.attachments[0]!.content.equals(LOGO), 'attachment bytes survive');
  }

  // Categories and custom args come back in the Email Activity API, as SendGrid shows them.
  const { timeline: tl } = await waitForEvent(herald, `${requestId}.0`, 'delivered');
  assert.deepEqual(tl.categories, ['invoice', 'billing']);
  assert.deepEqual(JSON.parse(tl.unique_args), { order_id: '1042', tenant: 'acme' });
});

test('sendMultiple gives every recipient a message of their own that names no other recipient', async (t) => {
  const { herald, sink } = await relayedHerald(t);
  pointSdkAt(herald);
  const recipients = ['one@example.com', 'two@example.com', 'three@example.com'];

  const [response] = await sgMail.sendMultiple({
    to: recipients,
    from: 'news@example.com',
    subject: 'Newsletter',
    text: 'Hello reader',
  });
  assert.equal(response.statusCode, 202);
  const requestId = response.headers['x-message-id'] as string;

  await sink.waitFor(3);
  assert.deepEqual(sink.messages.map((m) => m.to.join(',')).sort(), [...recipients].sort());
  for (const m of sink.messages) {
    const mail = await simpleParser(m.raw);
    assert.deepEqual(addresses(mail.to), m.to, `the To header of ${m.to[0]} names only that recipient`);
    assert.equal(mail.text?.trim(), 'Hello reader');
  }
  for (let i = 0; i < recipients.length; i++) {
    const tl = await timeline(herald, `${requestId}.${i}`);
    assert.equal(tl.to_email, recipients[i]);
  }
});

test('send with isMultiple: true and an array of messages are both accepted', async (t) => {
  const { herald, sink } = await relayedHerald(t);
  pointSdkAt(herald);

  const [multiple] = await sgMail.send({ to: ['a@example.com', 'b@example.com'], from: 'x@example.com', subject: 's1', text: 't1', isMultiple: true });
  assert.equal(multiple.statusCode, 202);
  // At run time an array resolves to one [response, body] per message; the SDK's typings say otherwise.
  const results = (await sgMail.send([
    { to: 'c@example.com', from: 'x@example.com', subject: 's2', text: 't2' },
    { to: 'd@example.com', from: 'x@example.com', subject: 's3', text: 't3' },
  ])) as unknown as [ClientResponse, unknown][];
  assert.deepEqual(
    results.map(([r]) => r.statusCode),
    [202, 202],
  );
  await sink.waitFor(4);
  assert.deepEqual(sink.messages.map((m) => m.to[0]).sort(), ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
});

test('the SDK sees SendGrid-shaped errors: 400 with errors[].field, 401 for a bad key', async (t) => {
  const { herald, sink } = await relayedHerald(t);
  pointSdkAt(herald);

  await assert.rejects(
    sgMail.send({ to: 'not-an-address', from: 'x@example.com', subject: 's', text: 't' }),
    (error: { code?: number; response?: { body?: { errors?: { field: string | null; message: string }[] } } }) => {
      assert.equal(error.code, 400);
      const errors = error.response?.body?.errors ?? [];
      assert.ok(errors.length > 0, 'errors array present');
      assert.ok(errors.some((e) => e.field?.startsWith('personalizations.0.to')), JSON.stringify(errors));
      return true;
    },
  );

  pointSdkAt(herald, 'SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
  await assert.rejects(sgMail.send({ to: 'a@example.com', from: 'x@example.com', subject: 's', text: 't' }), (error: { code?: number }) => {
    assert.equal(error.code, 401);
    return true;
  });
  assert.equal(sink.count, 0);
});
