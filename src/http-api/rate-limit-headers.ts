import type { FastifyReply } from 'fastify';
import type { LimitUse } from '../accounts/account-limits.js';

/**
 * SendGrid's rate-limit headers: the limit of the refresh period, what is left of it, and when it
 * resets in epoch seconds; on a refusal also `Retry-After` in seconds (RFC 9110 §10.2.3).
 * https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/rate-limits
 */
export function setRateLimitHeaders(reply: FastifyReply, use: LimitUse, now = Date.now()): void {
  void reply.header('x-ratelimit-limit', String(use.limit));
  void reply.header('x-ratelimit-remaining', String(use.remaining));
  void reply.header('x-ratelimit-reset', String(Math.ceil(use.resetAt / 1000)));
  if (!use.allowed) void reply.header('retry-after', String(Math.max(1, Math.ceil((use.resetAt - now) / 1000))));
}
