import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { rolesOf } from '../../config/settings.js';

/** Liveness and readiness, without authentication, for load balancers and orchestrators. */
export function healthRoutes(app: FastifyInstance, ctx: ApiContext & { isDraining(): boolean; configVersion(): number }): void {
  // configVersion: the live configuration revision this process runs (0: none set live); every
  // process of a cluster reports the same number once a change has reached it.
  app.get('/healthz', async () => ({ status: 'ok', roles: [...rolesOf(ctx.config)], backend: ctx.backend.kind, configVersion: ctx.configVersion() }));

  app.get('/readyz', async (_request, reply) => {
    const problems: string[] = [];
    try {
      await ctx.backend.ping();
    } catch (error) {
      problems.push(`store unreachable: ${(error as Error).message}`);
    }
    if (ctx.isDraining()) problems.push('draining: shutting down');
    return reply.status(problems.length === 0 ? 200 : 503).send({ status: problems.length === 0 ? 'ready' : 'not ready', problems });
  });
}
