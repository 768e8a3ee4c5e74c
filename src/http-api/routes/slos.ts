import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api-context.js';
import { requireScope } from '../auth.js';
import { HeraldError } from '../../errors.js';
import type { SloEvaluator } from '../../ops/slo/slo-evaluator.js';
import { sloJson } from '../../ops/slo/slo-report.js';

export interface SloRouteOptions {
  evaluator: SloEvaluator;
  /** Base64 DER key that verifies alert webhook signatures. */
  publicKey(): Promise<string>;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * `GET /v1/slos` and `GET /v1/slos/:name`: where each SLO stands, computed from the store at the
 * request. An operator endpoint behind the `slo.read` scope: the numbers are the whole instance's
 * (every account's traffic together), with no account's own data.
 */
export function sloRoutes(app: FastifyInstance, ctx: ApiContext, slo: SloRouteOptions): void {
  const auth = { onRequest: requireScope(ctx.backend.accounts, 'slo.read') };
  const noQuery = (query: unknown) => {
    const names = Object.keys((query as Record<string, unknown> | undefined) ?? {});
    if (names.length > 0) throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: names[0]!.slice(0, 100), message: 'This endpoint takes no query parameters.' });
  };

  app.get('/v1/slos', auth, async (request) => {
    noQuery(request.query);
    const [statuses, alerts, key] = await Promise.all([slo.evaluator.statuses(), slo.evaluator.alerts(), slo.publicKey()]);
    return { slos: statuses.map((s) => sloJson(s, alerts)), alert_verification_key: key };
  });

  app.get<{ Params: { name: string } }>('/v1/slos/:name', auth, async (request) => {
    noQuery(request.query);
    const { name } = request.params;
    if (!NAME.test(name)) {
      throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field: 'name', message: 'An SLO name is lowercase letters, digits and -, starting with a letter, at most 63 characters.' });
    }
    const statuses = await slo.evaluator.statuses();
    const status = statuses.find((s) => s.slo.name === name);
    if (!status) throw new HeraldError('HERALD_ERR_NOT_FOUND', { field: 'name', message: `No SLO named ${name} is configured.` });
    return sloJson(status, await slo.evaluator.alerts());
  });
}
