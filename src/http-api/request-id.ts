import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A caller's request id is kept when it is a printable token of at most this many characters. */
const MAX_REQUEST_ID = 128;
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * The request's id: the caller's `X-Request-Id` (a proxy or client tracing its own requests)
 * when it is one printable token of reasonable length, else a random UUID. Fastify's own default,
 * `req-1`, `req-2`…, restarts at every process start and would name different requests alike in
 * the delivery logs, where the id is kept with the mail for days.
 */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  if (typeof given === 'string' && given.length <= MAX_REQUEST_ID && TOKEN.test(given)) return given;
  return randomUUID();
}
