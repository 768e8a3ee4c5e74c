import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readReport } from '../../src/inbound/report.js';
import { fixture } from './fixtures.js';

const values = { RETURN_PATH: 'bounces+abc@bounces.herald.test', RECIPIENT: 'gone@example.net', MESSAGE_ID: 'AbCdEfGhIjKlMnOpQrStUv.0@herald.test', FBL_ADDRESS: 'abuse@bounces.herald.test' };

test("reads Gmail's DSN: status, folded diagnostic, remote MTA and the returned Message-ID", () => {
  const r = readReport(fixture('gmail-dsn.eml', values));
  assert.equal(r.kind, 'dsn');
  if (r.kind !== 'dsn') return;
  assert.equal(r.recipients.length, 1);
  const [rcpt] = r.recipients;
  assert.equal(rcpt!.recipient, 'gone@example.net');
  assert.equal(rcpt!.action, 'failed');
  assert.equal(rcpt!.status, '5.1.1');
  assert.match(rcpt!.reason, /^550-5\.1\.1 The email account that you tried to reach does not exist\. Please try 550-5\.1\.1 double-checking/);
  assert.match(rcpt!.mxServer!, /^gmail-smtp-in\.l\.google\.com\./);
  assert.deepEqual(r.original, { messageId: 'AbCdEfGhIjKlMnOpQrStUv.0@herald.test', returnPath: 'bounces+abc@bounces.herald.test' });
});

test("reads Microsoft's NDR: 5.5.0 mailbox unavailable, Reporting-MTA as the server", () => {
  const r = readReport(fixture('outlook-ndr.eml', values));
  assert.equal(r.kind, 'dsn');
  if (r.kind !== 'dsn') return;
  assert.equal(r.recipients[0]!.status, '5.5.0');
  assert.match(r.recipients[0]!.reason, /^550 5\.5\.0 Requested action not taken: mailbox unavailable/);
  assert.equal(r.recipients[0]!.mxServer, 'BN8NAM12HT123.mail.protection.outlook.com');
  assert.equal(r.original.messageId, 'AbCdEfGhIjKlMnOpQrStUv.0@herald.test');
});

test("reads Yahoo's plain-text failure notice as a hard bounce of the address", () => {
  const r = readReport(fixture('yahoo-failure.eml', values));
  assert.equal(r.kind, 'dsn');
  if (r.kind !== 'dsn') return;
  assert.equal(r.recipients[0]!.recipient, 'gone@example.net');
  assert.equal(r.recipients[0]!.status, '5.1.1');
  assert.match(r.recipients[0]!.reason, /^554: delivery error: dd This user doesn't have a yahoo.com account/);
  assert.equal(r.recipients[0]!.mxServer, 'mta1047.mail.gq1.yahoo.com');
  assert.equal(r.original.messageId, 'AbCdEfGhIjKlMnOpQrStUv.0@herald.test');
});

test('reads a qmail-send bounce', () => {
  const raw = Buffer.from(
    'From: MAILER-DAEMON@mx.qmail.test\r\nSubject: failure notice\r\n\r\nHi. This is the qmail-send program at mx.qmail.test.\r\nI\'m afraid I wasn\'t able to deliver your message to the following addresses.\r\nThis is a permanent error; I\'ve given up. Sorry it didn\'t work out.\r\n\r\n<gone@qmail.test>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nMessage-ID: <X@y>\r\n\r\nbody\r\n',
  );
  const r = readReport(raw);
  assert.equal(r.kind, 'dsn');
  if (r.kind !== 'dsn') return;
  assert.deepEqual(r.recipients[0], { recipient: 'gone@qmail.test', action: 'failed', status: '5.1.1', reason: 'Sorry, no mailbox here by that name. (#5.1.1)', mxServer: 'mx.qmail.test' });
  assert.equal(r.original.messageId, 'X@y');
});

test('reads an ARF abuse report with its Original-Mail-From and returned message', () => {
  const r = readReport(fixture('yahoo-arf-complaint.eml', values));
  assert.deepEqual(r, {
    kind: 'complaint',
    feedbackType: 'abuse',
    originalMailFrom: 'bounces+abc@bounces.herald.test',
    originalRcptTo: 'gone@example.net',
    original: { messageId: 'AbCdEfGhIjKlMnOpQrStUv.0@herald.test', returnPath: 'bounces+abc@bounces.herald.test' },
  });
});

test('delayed DSNs, automatic replies and ordinary mail are told apart; broken reports are malformed', () => {
  const delayed = readReport(fixture('delayed-dsn.eml', values));
  assert.equal(delayed.kind === 'dsn' && delayed.recipients[0]!.action, 'delayed');
  assert.equal(readReport(fixture('out-of-office.eml', values)).kind, 'auto-reply');
  assert.equal(readReport(fixture('malformed-dsn.eml', values)).kind, 'malformed');
  assert.equal(readReport(Buffer.from('Subject: hi\r\n\r\nhello\r\n')).kind, 'other');
  const noAction = 'Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\n\r\n--b--\r\n';
  assert.equal(readReport(Buffer.from(noAction)).kind, 'malformed');
  const noType = 'Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nVersion: 1\r\n--b--\r\n';
  assert.equal(readReport(Buffer.from(noType)).kind, 'malformed');
});

test('never throws on hostile input', () => {
  const inputs = [
    '',
    '\r\n\r\n',
    'Content-Type: multipart/report; boundary=""\r\n\r\n--\r\n--\r\n',
    'Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n' + '--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n'.repeat(50),
    'Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!====\r\n',
    'Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nAction: failed=\r\nStatus: =ZZ\r\n',
    Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256)).toString('latin1'),
  ];
  for (const input of inputs) assert.doesNotThrow(() => readReport(Buffer.from(input, 'latin1')));
});
