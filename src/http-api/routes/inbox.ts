import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { CapturedMessage } from '../../delivery/capture-inbox.js';

function entryJson(m: CapturedMessage) {
  return {
    id: m.id,
    msg_id: m.messageId,
    from: m.envelopeFrom,
    to: m.envelopeTo,
    subject: m.subject,
    size: m.size,
    received_at: new Date(m.receivedAt).toISOString(),
  };
}

/** The local capture inbox: what Herald "delivered" while no relay is configured. */
export function inboxRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { accounts } = ctx.backend;
  const inbox = ctx.backend.inbox;

  app.get<{ Querystring: { limit?: string; to?: string } }>('/v1/inbox', { onRequest: requireScope(accounts, 'inbox.read') }, async (request) => {
    const limit = request.query.limit === undefined ? 50 : Number(request.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'limit', message: 'limit must be a whole number from 1 to 1000.' });
    }
    const to = request.query.to;
    if (to !== undefined && typeof to !== 'string') throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'to', message: 'Give to once.' });
    const messages = await inbox.list(accountOf(request), { limit, ...(to ? { to } : {}) });
    return { messages: messages.map(entryJson) };
  });

  app.get<{ Params: { id: string } }>('/v1/inbox/:id', { onRequest: requireScope(accounts, 'inbox.read') }, async (request) => {
    const found = await inbox.get(accountOf(request), request.params.id);
    if (!found) throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'id', message: 'No captured message with this id.' });
    const parsed = await simpleParser(found.raw);
    return {
      ...entryJson(found.message),
      subject: parsed.subject ?? '',
      headers: parsed.headerLines.map((h) => ({ name: h.key, line: h.line })),
      text: parsed.text ?? null,
      html: parsed.html === false ? null : parsed.html,
      attachments: parsed.attachments.map((a) => ({
        filename: a.filename ?? null,
        content_type: a.contentType,
        size: a.size,
        content_id: a.cid ?? null,
        disposition: a.contentDisposition,
      })),
    };
  });

  app.get<{ Params: { id: string } }>('/v1/inbox/:id/raw', { onRequest: requireScope(accounts, 'inbox.read') }, async (request, reply) => {
    const found = await inbox.get(accountOf(request), request.params.id);
    if (!found) throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'id', message: 'No captured message with this id.' });
    return reply.type('message/rfc822').send(found.raw);
  });

  app.delete('/v1/inbox', { onRequest: requireScope(accounts, 'inbox.delete') }, async (request) => {
    return { deleted: await inbox.clear(accountOf(request)) };
  });
}
