import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import { parseActivityQuery } from '../../events/activity-query.js';
import { activityEventName, type HeraldEvent } from '../../events/event.js';
import type { MessageSummary } from '../../events/event-log.js';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** SendGrid's Email Activity shapes. */
function summaryJson(m: MessageSummary) {
  return {
    from_email: m.fromEmail,
    msg_id: m.msgId,
    subject: m.subject,
    to_email: m.toEmail,
    status: m.status,
    opens_count: m.opensCount,
    clicks_count: m.clicksCount,
    last_event_time: iso(m.lastEventTime),
  };
}

function eventJson(e: HeraldEvent) {
  return {
    event_name: activityEventName(e.type),
    processed: iso(e.timestamp),
    reason: e.type === 'bounce' || e.type === 'dropped' ? e.reason : e.type === 'deferred' ? e.response : null,
    attempt_num: 'attempt' in e ? e.attempt : 0,
    url: e.type === 'click' ? e.url : null,
    bounce_type: e.type === 'bounce' ? e.bounceType : null,
    http_user_agent: 'useragent' in e ? e.useragent : null,
    mx_server: 'mxServer' in e ? e.mxServer : null,
    response: e.type === 'delivered' || e.type === 'deferred' ? e.response : null,
  };
}

export function messageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { backend } = ctx;

  app.get<{ Querystring: { query?: string; limit?: string } }>(
    '/v3/messages',
    { onRequest: requireScope(backend.accounts, 'messages.read') },
    async (request) => {
      const { query, limit: rawLimit } = request.query;
      const limit = rawLimit === undefined ? 10 : Number(rawLimit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'limit', message: 'limit must be a whole number from 1 to 1000.' });
      }
      if (query !== undefined && typeof query !== 'string') {
        throw new HeraldError('HERALD_ERR_INVALID_QUERY', { field: 'query', message: 'Give query once.' });
      }
      const filter = query === undefined || query.trim() === '' ? null : parseActivityQuery(query);
      const messages = await backend.activity.queryMessages(accountOf(request), filter, limit);
      return { messages: messages.map(summaryJson) };
    },
  );

  app.get<{ Params: { id: string } }>('/v3/messages/:id', { onRequest: requireScope(backend.accounts, 'messages.read') }, async (request) => {
    const m = await backend.activity.getMessage(accountOf(request), request.params.id);
    if (!m) throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'msg_id', message: 'Message not found.' });
    return {
      ...summaryJson(m),
      template_id: m.templateId,
      asm_group_id: m.asmGroupId,
      teammate: '',
      api_key_id: m.apiKeyId,
      events: m.events.map(eventJson),
      originating_ip: null,
      categories: m.categories,
      unique_args: JSON.stringify(m.customArgs),
      outbound_ip: null,
      outbound_ip_type: null,
    };
  });
}
