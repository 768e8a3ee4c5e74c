import { SigningKeys } from '../ops/signing-keys.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import { rolesOf, type HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';
import { HeraldMetrics } from '../ops/metrics.js';
import { handleError } from './error-reply.js';
import { acceptOnlyJson } from './json-body.js';
import { mailSendRoutes } from './routes/mail-send.js';
import { messageRoutes } from './routes/messages.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { inboxRoutes } from './routes/inbox.js';
import { healthRoutes } from './routes/health.js';
import { templateRoutes } from './routes/templates.js';
import { domainRoutes } from './routes/domains.js';
import { suppressionRoutes } from './routes/suppressions.js';
import { asmGroupRoutes } from './routes/asm-groups.js';
import { sessionRoutes } from '../dashboard/session-routes.js';
import { queueStatsRoutes } from '../dashboard/queue-stats-route.js';
import { dashboardStaticRoutes } from '../dashboard/static-files.js';

export interface HttpApi {
  app: FastifyInstance;
  /** From now on new work is refused with 503. */
  drain(): void;
}

/**
 * The Fastify app: health endpoints always, the API when this process has the `api` role (a
 * delivery-only process still answers /healthz and /readyz for its orchestrator).
 */
export function buildHttpApi(backend: Backend, config: HeraldConfig, log: Logger, options: { configVersion?: () => number; metrics?: HeraldMetrics; signing?: SigningKeys } = {}): HttpApi {
  const metrics = options.metrics ?? new HeraldMetrics({ process: false });
  let draining = false;
  let signing: Promise<SigningKeys> | undefined;
  const app: FastifyInstance = Fastify({
    loggerInstance: log.child({ component: 'http-api' }) as FastifyBaseLogger,
    bodyLimit: config.maxRequestBytes,
    // One line per request at debug (onResponse below) instead of two at info: quiet at high rates.
    logController: new LogController({ disableRequestLogging: true }),
    // Prototype pollution attempts in JSON bodies are refused, not silently stripped.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
  });
  app.decorateRequest('apiKey', null);
  app.decorateRequest('dashboardSession', null);
  app.decorate('dashboardStore', rolesOf(config).has('api') ? backend.dashboard : null);
  acceptOnlyJson(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    handleError(new HeraldError('HERALD_ERR_NOT_FOUND', { message: `No route ${request.method} ${request.url.split('?')[0]}` }), request, reply);
  });
  app.addHook('onResponse', async (request, reply) => {
    // Routes as declared (`/v3/messages/:msg_id`), never the raw URL: labels stay bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    if (route === '/v3/mail/send') metrics.acceptSeconds.observe({ status_class: `${String(reply.statusCode)[0]}xx` }, reply.elapsedTime / 1000);
    if (log.isLevelEnabled('debug')) request.log.debug({ method: request.method, url: request.routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });
  const ctx = {
    backend,
    config,
    refuseWhenDraining() {
      if (draining) throw new HeraldError('HERALD_ERR_SERVICE_UNAVAILABLE');
    },
    isDraining: () => draining,
    configVersion: options.configVersion ?? (() => 0),
    signingKeys: () => (signing ??= options.signing ? Promise.resolve(options.signing) : SigningKeys.load(config.signingKey, backend.secrets)),
  };
  healthRoutes(app, ctx);
  // Prometheus text format; unauthenticated like the health endpoints, and holding no tenant data.
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));
  if (!rolesOf(config).has('api')) return { app, drain: () => void (draining = true) };
  mailSendRoutes(app, ctx);
  messageRoutes(app, ctx);
  apiKeyRoutes(app, ctx);
  inboxRoutes(app, ctx);
  templateRoutes(app, ctx);
  domainRoutes(app, ctx);
  suppressionRoutes(app, ctx);
  asmGroupRoutes(app, ctx);
  queueStatsRoutes(app, ctx);
  // The dashboard: its sign-in, and its pages, which then use the API above like any client.
  sessionRoutes(app, ctx);
  dashboardStaticRoutes(app);
  return {
    app,
    drain() {
      draining = true;
    },
  };
}
