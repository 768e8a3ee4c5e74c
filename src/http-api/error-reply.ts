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
      if (error instanceof SyntaxError || error.statusCode === 400) {
        return new HeraldError('HERALD_ERR_BAD_JSON', { message: `Bad Request: ${error.message}` });
      }
      if (error.statusCode === 413) return new HeraldError('HERALD_ERR_PAYLOAD_TOO_LARGE');
      if (error.statusCode === 415) return new HeraldError('HERALD_ERR_UNSUPPORTED_MEDIA_TYPE');
      return new HeraldError('HERALD_ERR_INTERNAL', { cause: error });
  }
}

export function handleError(error: FastifyError | HeraldError, request: FastifyRequest, reply: FastifyReply): void {
  const herald = error instanceof HeraldError ? error : fromFastify(error);
  if (herald.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: herald.code, field: herald.field, status: herald.status }, 'request refused');
  void reply.status(herald.status).send(errorBody(herald));
}
