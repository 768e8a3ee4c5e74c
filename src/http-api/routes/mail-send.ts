import { BacklogGuard } from '../../queue/backlog-guard.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiContext } from '../api-context.js';
import { requireScope, accountOf } from '../auth.js';
import { HeraldError } from '../../errors.js';
import { parseMailSend } from '../../message/sendgrid-payload.js';
import { expandRequest, newId } from '../../message/expand.js';
import { setRateLimitHeaders } from '../rate-limit-headers.js';

export function mailSendRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { backend, config } = ctx;
  const backlog = new BacklogGuard(backend.queue, config.maxQueuedMessages);

  // SendGrid v3 Mail Send: 202 and X-Message-Id once the messages are on disk.
  app.post('/v3/mail/send', { onRequest: requireScope(backend.accounts, 'mail.send') }, async (request, reply) => {
    ctx.refuseWhenDraining();
    const accountId = accountOf(request);
    const now = Date.now();
    const mail = parseMailSend(request.body, now);
    if (mail.batchId !== undefined && !(await backend.accounts.batchExists(accountId, mail.batchId))) {
      throw new HeraldError('HERALD_ERR_UNKNOWN_BATCH', { field: 'batch_id', message: `The batch ID ${mail.batchId} is not valid: create it with POST /v3/mail/batch first.` });
    }
    if (mail.templateId !== undefined) {
      const found = await backend.templates.activeVersion(accountId, mail.templateId);
      if (!found) {
        throw new HeraldError('HERALD_ERR_UNKNOWN_TEMPLATE', { field: 'template_id', message: `The template_id ${mail.templateId} is not a valid template ID.` });
      }
      if (!found.version) {
        throw new HeraldError('HERALD_ERR_UNKNOWN_TEMPLATE', { field: 'template_id', message: `The template ${mail.templateId} has no active version: create or activate one first.` });
      }
      // A snapshot, stored with the request: editing the template later does not change this mail.
      const v = found.version;
      mail.template = { id: found.templateId, versionId: v.id, subject: v.subject || null, html: v.htmlContent || null, plain: v.plainContent || null };
    }
    if (mail.asmGroupId !== undefined) {
      const known = new Set((await backend.suppressions.listGroups(accountId)).map((g) => g.id));
      if (!known.has(mail.asmGroupId)) {
        throw new HeraldError('HERALD_ERR_UNKNOWN_GROUP', { field: 'asm.group_id', message: `The asm.group_id ${mail.asmGroupId} is not an unsubscribe group of this account: create it with POST /v3/asm/groups first.` });
      }
      const unknown = (mail.asmGroupsToDisplay ?? []).find((id) => !known.has(id));
      if (unknown !== undefined) {
        throw new HeraldError('HERALD_ERR_UNKNOWN_GROUP', { field: 'asm.groups_to_display', message: `The group ${unknown} in asm.groups_to_display is not an unsubscribe group of this account.` });
      }
    }
    // sandbox_mode: validated, never sent; SendGrid answers 200 with no body.
    if (mail.sandbox) return reply.status(200).send();
    // Kept with the request, so that its deliveries log the id its caller knows it by.
    mail.httpRequestId = request.id;
    const accepted = expandRequest(mail, { accountId, apiKeyId: request.apiKey?.id ?? null, nowMs: now, maxAgeMs: config.messageMaxAgeMs });
    const count = accepted.messages.length;
    await backlog.admit(count);
    // The daily quota is counted durably before the messages are written: a crash between the two
    // counts messages never accepted, and never accepts messages not counted.
    const quota = await ctx.limits.reserveMessages(accountId, count);
    if (quota) {
      setRateLimitHeaders(reply, quota);
      if (!quota.allowed) {
        throw new HeraldError('HERALD_ERR_DAILY_QUOTA', {
          message: `The account may have ${quota.limit} messages accepted per UTC day and has ${quota.remaining} left; this request has ${count}. Retry after midnight UTC.`,
        });
      }
    }
    try {
      await backend.queue.enqueue(accepted);
    } catch (error) {
      if (quota) await ctx.limits.releaseMessages(accountId, count, quota.reservedAt).catch(() => {});
      throw error;
    }
    backlog.accepted(count);
    // Asked first: the request's logger is made on first use (see auth.ts), and with logLevel
    // warn or above this line is not written.
    if ((app.log as unknown as Logger).isLevelEnabled('info')) request.log.info({ xMessageId: accepted.requestId, messages: count }, 'accepted');
    return reply.status(202).header('X-Message-Id', accepted.requestId).send();
  });

  // Batch ids group scheduled sends (SendGrid's Cancel Scheduled Sends).
  app.post('/v3/mail/batch', { onRequest: requireScope(backend.accounts, 'mail.batch.create') }, async (request, reply) => {
    const batchId = newId();
    await backend.accounts.createBatch(accountOf(request), batchId);
    return reply.status(201).send({ batch_id: batchId });
  });

  app.get<{ Params: { id: string } }>('/v3/mail/batch/:id', { onRequest: requireScope(backend.accounts, 'mail.batch.read') }, async (request) => {
    if (!(await backend.accounts.batchExists(accountOf(request), request.params.id))) {
      throw new HeraldError('HERALD_ERR_UNKNOWN_BATCH', { field: 'batch_id' });
    }
    return { batch_id: request.params.id };
  });
}
