import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError, helpFor, type ErrorCode } from '../errors.js';

/** SendGrid's error body: `{"errors":[{"message","field","help"}]}`, plus Herald's stable code. */
export function errorBody(error: HeraldError): { errors: { message: string; field: string | null; help: string; code: ErrorCode }[] } {
  return {
    errors: error.problems.map((p) => ({ message: p.message, field: p.field, help: helpFor(p.code), code: p.code })),
  };
}

/** Maps Fastify's own errors (body parsing, limits) to catalogue errors. */
function fromFastify(error: FastifyError): HeraldError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HeraldError('HERALD_ERR_PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HeraldError('HERALD_ERR_UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HeraldError('HERALD_ERR_BAD_JSON', { message: 'Bad Request: the request body is empty; a JSON object is expected.' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HeraldError('HERALD_ERR_BAD_JSON', { message: `Bad Request: ${error.message}` });
    default:
      if (isStoreUnavailable(error)) {
        return new HeraldError('HERALD_ERR_SERVICE_UNAVAILABLE', { message: 'The store is unavailable; nothing of this request was accepted. Retry later.', cause: error });
      }
      if (error instanceof SyntaxError || error.statusCode === 400) {
        return new HeraldError('HERALD_ERR_BAD_JSON', { message: `Bad Request: ${error.message}` });
      }
      if (error.statusCode === 413) return new HeraldError('HERALD_ERR_PAYLOAD_TOO_LARGE');
      if (error.statusCode === 415) return new HeraldError('HERALD_ERR_UNSUPPORTED_MEDIA_TYPE');
      return new HeraldError('HERALD_ERR_INTERNAL', { cause: error });
  }
}

/**
 * The store cannot be reached or refuses work for now (PostgreSQL down, restarting or out of
 * connections; SQLite locked past its timeout): the request was not accepted and may be retried.
 */
function isStoreUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // PostgreSQL SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting down, cannot
    // connect now), 53300 (too many connections); Node's socket errors; SQLite's busy and locked.
    if (/^08|^57P0[123]$|^53300$/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY', 'SQLITE_LOCKED'].includes(code)) return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message);
}

/** Seconds a client should wait after a 503, as `Retry-After`. */
const RETRY_AFTER_S = 5;

export function handleError(error: FastifyError | HeraldError, request: FastifyRequest, reply: FastifyReply): void {
  const herald = error instanceof HeraldError ? error : fromFastify(error);
  // A rate limit sets its own Retry-After (until its window resets) before it throws.
  if ((herald.status === 503 || herald.status === 429) && !reply.hasHeader('retry-after')) void reply.header('retry-after', String(RETRY_AFTER_S));
  if (herald.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: herald.code, field: herald.field, status: herald.status }, 'request refused');
  void reply.status(herald.status).send(errorBody(herald));
}
