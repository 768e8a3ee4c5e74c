import { sortableId } from '../ops/random-pool.js';
import type { AcceptedRequest, MailRequest, NewMessage, RecipientKind } from './mail-request.js';

/** A request's id (X-Message-Id), and the start of its messages' ids: see `sortableId`. */
export function newId(): string {
  return sortableId();
}

/** A message's id: its request's id and its place among the request's messages. */
function messageIdOf(requestId: string, n: number): string {
  return `${requestId}.${n}`;
}

/** The request a message id belongs to (see `messageIdOf`); an id of no request's shape is its own. */
export function requestIdOfMessage(messageId: string): string {
  const dot = messageId.lastIndexOf('.');
  return dot > 0 ? messageId.slice(0, dot) : messageId;
}

export interface ExpandContext {
  accountId: string;
  apiKeyId: string | null;
  nowMs: number;
  maxAgeMs: number;
}

/**
 * Turns one request into one message per recipient. Message ids extend the request id
 * (`<X-Message-Id>.<n>`), so SendGrid's `msg_id LIKE '<X-Message-Id>%'` finds a request's messages.
 */
export function expandRequest(request: MailRequest, ctx: ExpandContext): AcceptedRequest {
  const requestId = newId();
  const messages: NewMessage[] = [];
  request.personalizations.forEach((p, index) => {
    const sendAt = p.sendAt ?? request.sendAt;
    const readyAt = sendAt !== undefined ? Math.max(sendAt * 1000, ctx.nowMs) : ctx.nowMs;
    const customArgs = { ...request.customArgs, ...p.customArgs };
    const from = p.from ?? request.from;
    const recipients: [string, RecipientKind][] = [
      ...p.to.map((a) => [a.email, 'to'] as [string, RecipientKind]),
      ...p.cc.map((a) => [a.email, 'cc'] as [string, RecipientKind]),
      ...p.bcc.map((a) => [a.email, 'bcc'] as [string, RecipientKind]),
    ];
    for (const [recipient, recipientKind] of recipients) {
      messages.push({
        id: messageIdOf(requestId, messages.length),
        accountId: ctx.accountId,
        requestId,
        personalizationIndex: index,
        recipient,
        recipientKind,
        fromEmail: from.email,
        subject: p.subject ?? request.subject ?? '',
        categories: request.categories,
        customArgs,
        apiKeyId: ctx.apiKeyId,
        templateId: request.templateId ?? null,
        asmGroupId: request.asmGroupId ?? null,
        readyAt,
        expiresAt: readyAt + ctx.maxAgeMs,
        createdAt: ctx.nowMs,
      });
    }
  });
  return { requestId, accountId: ctx.accountId, request, messages, acceptedAt: ctx.nowMs };
}
