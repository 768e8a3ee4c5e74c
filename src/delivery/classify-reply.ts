import { DeliveryError } from './delivery-error.js';

const SESSION_COMMANDS = /^(CONN|GREETING|EHLO|HELO|LHLO|STARTTLS|AUTH)\b/i;

export type AttemptOutcome =
  | { kind: 'deferred'; response: string }
  | { kind: 'bounced'; bounceType: 'bounce' | 'blocked'; status: string; response: string };

/**
 * The one place that decides what a failed attempt means (RFC 5321 §4.2.1): 5xx is permanent and
 * bounces, 4xx and anything without a reply (refused, reset, timed out) is transient and defers.
 * SendGrid's bounce `type` comes from the enhanced status subject (RFC 3463 §3): problems with the
 * address or mailbox (x.1.x, x.2.x) are `bounce`; policy, content, network and security refusals
 * are `blocked`.
 */
export function classifyFailure(error: unknown): AttemptOutcome {
  if (!(error instanceof DeliveryError)) {
    return { kind: 'deferred', response: error instanceof Error ? error.message : String(error) };
  }
  // A refusal of the session itself (greeting, EHLO, STARTTLS, AUTH) says nothing about the
  // recipient: it is Herald's configuration or the server's state, so it defers (as Postfix's
  // smtp_sasl_auth_soft_bounce). Only replies to the mail transaction may bounce.
  if (error.command !== null && SESSION_COMMANDS.test(error.command)) {
    return { kind: 'deferred', response: error.response };
  }
  const code = error.replyCode;
  const fromStatus = error.enhancedStatus?.[0];
  const permanent = code !== null ? code >= 500 && code < 600 : fromStatus === '5';
  if (!permanent) return { kind: 'deferred', response: error.response };
  const status = error.enhancedStatus ?? '5.0.0';
  return { kind: 'bounced', bounceType: bounceTypeOf(status), status, response: error.response };
}

/** SendGrid's bounce `type` for an enhanced status code (RFC 3463 §3): the address (x.1, x.2) or anything else. */
export function bounceTypeOf(status: string): 'bounce' | 'blocked' {
  const subject = status.split('.')[1];
  return subject === '1' || subject === '2' ? 'bounce' : 'blocked';
}

/**
 * True when the attempt failed while setting up the session (connect, greeting, EHLO, STARTTLS,
 * AUTH): the server never saw the transaction. Another MX host may be tried, and enough of these in
 * a row trip the destination's circuit breaker.
 */
export function isSessionFailure(error: unknown): boolean {
  return error instanceof DeliveryError && error.command !== null && SESSION_COMMANDS.test(error.command);
}
