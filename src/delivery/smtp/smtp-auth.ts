import { DeliveryError } from '../delivery-error.js';
import type { SmtpChannel } from './smtp-channel.js';
import { replyError } from './smtp-errors.js';

export interface SmtpCredentials {
  user: string;
  pass: string;
}

/** Mechanisms Herald speaks, best first: PLAIN takes one round trip, LOGIN three. */
const MECHANISMS = ['PLAIN', 'LOGIN'] as const;

/**
 * Authenticates with SASL PLAIN (RFC 4616) or LOGIN, whichever the server offers (RFC 4954). A
 * refusal (535 and the like) rejects with the server's reply; credentials never appear in errors.
 */
export async function authenticate(channel: SmtpChannel, offered: readonly string[], credentials: SmtpCredentials, timeoutMs: number): Promise<void> {
  const mechanism = MECHANISMS.find((m) => offered.includes(m));
  if (mechanism === undefined) {
    throw new DeliveryError(`${channel.mxServer} offers no AUTH mechanism Herald supports (offered: ${offered.join(' ') || 'none'})`, {
      replyCode: null,
      response: `AUTH not possible: the server offers ${offered.length > 0 ? offered.join(' ') : 'no AUTH'}; Herald speaks PLAIN and LOGIN`,
      command: 'AUTH',
      mxServer: channel.mxServer,
    });
  }
  if (mechanism === 'PLAIN') {
    // RFC 4616 §2: authzid NUL authcid NUL passwd, sent as the initial response (RFC 4954 §4).
    const token = Buffer.from(`\0${credentials.user}\0${credentials.pass}`, 'utf8').toString('base64');
    channel.write(`AUTH PLAIN ${token}\r\n`);
    const reply = await channel.read('AUTH PLAIN', timeoutMs);
    if (reply.code !== 235) throw await cancelled(channel, reply.code, replyError(reply, 'AUTH PLAIN', channel.mxServer), timeoutMs);
    return;
  }
  channel.write('AUTH LOGIN\r\n');
  for (const value of [credentials.user, credentials.pass]) {
    const challenge = await channel.read('AUTH LOGIN', timeoutMs);
    if (challenge.code !== 334) throw replyError(challenge, 'AUTH LOGIN', channel.mxServer);
    channel.write(`${Buffer.from(value, 'utf8').toString('base64')}\r\n`);
  }
  const reply = await channel.read('AUTH LOGIN', timeoutMs);
  if (reply.code !== 235) throw replyError(reply, 'AUTH LOGIN', channel.mxServer);
}

/** A 334 to PLAIN asks for more: RFC 4954 §4 says "*" cancels the exchange; the server then answers 501. */
async function cancelled(channel: SmtpChannel, code: number, error: DeliveryError, timeoutMs: number): Promise<DeliveryError> {
  if (code === 334) {
    channel.write('*\r\n');
    await channel.read('AUTH PLAIN', timeoutMs);
  }
  return error;
}
