import { DeliveryError } from '../delivery-error.js';
import { formatReply, SmtpProtocolError, type SmtpReply } from './smtp-reply-reader.js';

/** A step of the session ran past its time limit (RFC 5321 §4.5.3.2). */
export class SmtpTimeoutError extends Error {
  override readonly name = 'SmtpTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/** The server answered a command with a reply that ends what the client was doing. */
export function replyError(reply: SmtpReply, command: string, mxServer: string): DeliveryError {
  const response = formatReply(reply);
  return new DeliveryError(`${command} failed: ${response}`, { replyCode: reply.code, response, command, mxServer });
}

/**
 * No usable reply: refused, reset, closed, timed out, TLS failure or garbage. No reply code, so the
 * attempt defers (classify-reply.ts); the response names the cause for the event log.
 */
export function connectionError(cause: unknown, command: string | null, mxServer: string): DeliveryError {
  if (cause instanceof DeliveryError) return cause;
  const err = cause instanceof Error ? cause : new Error(String(cause));
  const code = (err as { code?: unknown }).code;
  let response: string;
  if (err instanceof SmtpProtocolError) response = `protocol error: ${err.message}`;
  else if (typeof code === 'string' && !err.message.includes(code)) response = `${code} ${err.message}`;
  else response = err.message;
  const during = command === null ? '' : ` during ${command}`;
  return new DeliveryError(`SMTP connection to ${mxServer} failed${during}: ${response}`, { replyCode: null, response, command, mxServer, cause: err });
}
