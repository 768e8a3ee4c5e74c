import { domainToASCII } from 'node:url';
import { DeliveryError } from '../delivery-error.js';

/** One SMTP transaction: a reverse-path ('' for the null sender of bounces) and its recipients. */
export interface SmtpEnvelope {
  from: string;
  to: string[];
}

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets. */
const MAX_ADDRESS = 254; // bytes
// A control character or an angle bracket would end the command or the path early: refused, never
// written, so a crafted address can never add a command of its own (SMTP command injection).
const UNSAFE = /[\x00-\x1f\x7f<>]/;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Refuses an envelope that must never reach the wire, with a permanent `DeliveryError` of Herald's
 * own (553: RFC 5321 §4.2.2, "mailbox name not allowed"; RFC 3463 5.1.3 / 5.1.7).
 */
export function checkEnvelope(envelope: SmtpEnvelope, mxServer: string | null): void {
  checkAddress(envelope.from, 'sender', mxServer);
  if (envelope.to.length === 0) {
    throw new DeliveryError('no recipients', { replyCode: 554, response: '554 5.5.1 Herald refused the message: no recipients', command: 'RCPT TO', mxServer });
  }
  for (const to of envelope.to) checkAddress(to, 'recipient', mxServer);
}

function checkAddress(address: string, role: 'sender' | 'recipient', mxServer: string | null): void {
  const empty = address.length === 0;
  const problem =
    empty && role === 'recipient'
      ? 'is empty'
      : UNSAFE.test(address)
        ? 'contains CR, LF, "<", ">" or another control character'
        : Buffer.byteLength(address) > MAX_ADDRESS
          ? `is longer than ${MAX_ADDRESS} bytes`
          : !empty && !/^[^@]+@[^@]+$/.test(address) && !/^".*"@[^@]+$/.test(address)
            ? 'is not local-part@domain'
            : null;
  if (problem === null) return;
  const status = role === 'sender' ? '5.1.7' : '5.1.3';
  const shown = JSON.stringify(address.slice(0, 100));
  throw new DeliveryError(`${role} address ${shown} ${problem}`, {
    replyCode: 553,
    response: `553 ${status} Herald refused the ${role} address ${shown}: it ${problem}`,
    command: role === 'sender' ? 'MAIL FROM' : 'RCPT TO',
    mxServer,
  });
}

/**
 * The address as it goes on the wire. A server offering SMTPUTF8 (RFC 6531) gets it as UTF-8;
 * otherwise an internationalised domain goes as its A-label (RFC 5890), and a non-ASCII local part
 * cannot be sent at all (RFC 6531 §3.2: no downgrade): `null`.
 */
export function wireAddress(address: string, smtpUtf8: boolean): { address: string; utf8: boolean } | null {
  if (!NON_ASCII.test(address)) return { address, utf8: false };
  if (smtpUtf8) return { address, utf8: true };
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  if (NON_ASCII.test(local)) return null;
  const domain = domainToASCII(address.slice(at + 1));
  return domain === '' ? null : { address: `${local}@${domain}`, utf8: false };
}

/** The permanent error for an address only an SMTPUTF8 server could take (RFC 6531 §3.7.4.1). */
export function utf8Refused(address: string, role: 'sender' | 'recipient', mxServer: string | null): DeliveryError {
  return new DeliveryError(`${role} address needs SMTPUTF8, which ${mxServer ?? 'the server'} does not offer`, {
    replyCode: 553,
    response: `553 5.6.7 ${role} address ${JSON.stringify(address)} is not ASCII and the server does not offer SMTPUTF8`,
    command: role === 'sender' ? 'MAIL FROM' : 'RCPT TO',
    mxServer,
  });
}
