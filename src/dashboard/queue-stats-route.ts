import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../http-api/api-context.js';
import { accountOf, requireScope } from '../http-api/auth.js';

/**
 * `GET /v1/queue/stats`: the caller's own queued messages (the dashboard's queue tiles). Only the
 * account's messages count: the whole queue's depth, like `herald queue stats`, is for operators
 * (the `herald_queue_*` series of /metrics).
 */
export function queueStatsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/queue/stats', { onRequest: requireScope(ctx.backend.accounts, 'messages.read') }, async (request) => {
    const depth = await ctx.backend.queue.depth(accountOf(request));
    const now = Date.now();
    return {
      ready: depth.ready,
      scheduled: depth.scheduled,
      in_progress: depth.leased,
      total: depth.ready + depth.scheduled + depth.leased,
      oldest_created_at: depth.oldestCreatedAt === null ? null : new Date(depth.oldestCreatedAt).toISOString(),
      oldest_age_seconds: depth.oldestCreatedAt === null ? null : Math.max(0, Math.floor((now - depth.oldestCreatedAt) / 1000)),
    };
  });
}
