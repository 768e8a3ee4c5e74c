import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, mailBody, startTestHerald } from '../support/test-herald.js';
import { startSmtpSink } from '../support/smtp-sink.js';
import { startPostfix } from '../support/postfix.js';
import { freePort } from '../support/free-port.js';

const DOMAIN = 'bounces.herald.test';

interface MessageJson {
  status: string;
  events: { event_name: string; reason: string | null; bounce_type: string | null; mx_server: string | null }[];
}

/**
 * The whole loop with a real MTA: Herald relays through Postfix, which takes the message (250:
 * delivered), then fails to pass it on (the next hop answers 550 5.1.1 after DATA), writes its own
 * DSN (bounce(8)) to the VERP return path, and delivers it to Herald's receiver by its transport
 * map, as the return-path domain's MX record would on the Internet.
 */
test('a DSN Postfix writes after a 250 bounces the message and suppresses the address', async (t) => {
  const refusing = await startSmtpSink({ reply: () => ({ code: 550, message: '5.1.1 <gone@far.test>: Recipient address rejected: User unknown' }) });
  t.after(() => refusing.close());
  const inboundPort = await freePort();
  const postfix = await startPostfix({
    transports: { 'far.test': `smtp:[127.0.0.1]:${refusing.port}`, [DOMAIN]: `smtp:[127.0.0.1]:${inboundPort}` },
  });
  t.after(() => postfix.stop());
  const herald = await startTestHerald({
    deliveryTransport: 'relay',
    smtpRelay: `smtp://127.0.0.1:${postfix.port}`,
    smtpRelayTlsVerify: false,
    returnPathDomain: DOMAIN,
    inboundPort,
    inboundHost: '127.0.0.1',
  });
  t.after(() => herald.close());

  const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: 'gone@far.test' }] }] }) });
  assert.equal(res.status, 202);
  const msgId = `${res.headers.get('x-message-id')}.0`;
  const detail = async (): Promise<MessageJson> => (await (await herald.api(`/v3/messages/${msgId}`)).json()) as MessageJson;

  const m = await eventually(async () => {
    const d = await detail();
    return d.events.some((e) => e.event_name === 'bounced') ? d : null;
  }, 30_000, `the bounce from Postfix's DSN\n${postfix.log()}`);
  // Postfix took it first: delivered, then the late bounce.
  assert.deepEqual(m.events.map((e) => e.event_name), ['processed', 'delivered', 'bounced']);
  assert.equal(m.status, 'not_delivered');
  const bounce = m.events.at(-1)!;
  assert.equal(bounce.bounce_type, 'bounce');
  assert.match(bounce.reason!, /550 5\.1\.1 <gone@far\.test>: Recipient address rejected: User unknown/);
  assert.match(bounce.mx_server!, /127\.0\.0\.1/);
  assert.ok(refusing.messages.length === 0);
  const list = (await (await herald.api('/v3/suppression/bounces')).json()) as { email: string; status: string }[];
  assert.ok(list.some((s) => s.email === 'gone@far.test' && s.status === '5.1.1'), JSON.stringify(list));
  // Postfix's log shows the DSN went to the VERP return path and Herald took it.
  assert.match(postfix.log(), new RegExp(`to=<bounces\\+[a-z2-7]+@${DOMAIN.replaceAll('.', '\\.')}>.*status=sent`));
});
