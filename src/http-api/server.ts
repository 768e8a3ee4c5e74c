import { SigningKeys } from '../ops/signing-keys.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Backend } from '../backends/backend.js';
import { rolesOf, type HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';
import { HeraldMetrics } from '../ops/metrics.js';
import { handleError } from './error-reply.js';
import { AccountRateLimits } from '../accounts/rate-limits.js';
import { setRateLimitHeaders } from './rate-limit-headers.js';
import { requestIdOf } from './request-id.js';
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
import { trackingRoutes } from './routes/tracking.js';
import { trackingSettingsRoutes } from './routes/tracking-settings.js';
import { webhookRoutes } from './routes/webhooks.js';
import { statsRoutes } from './routes/stats.js';
import { sloRoutes } from './routes/slos.js';
import type { SloMonitor } from '../ops/slo/slo-monitor.js';
import { SloEvaluator } from '../ops/slo/slo-evaluator.js';
import { sloList } from '../ops/slo/slo-definitions.js';
import { loadAlertSigningKey } from '../ops/slo/alert-signer.js';
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
export function buildHttpApi(backend: Backend, config: HeraldConfig, log: Logger, options: { configVersion?: () => number; metrics?: HeraldMetrics; signing?: SigningKeys; slo?: SloMonitor } = {}): HttpApi {
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
    // The caller's X-Request-Id when it is a sane token, else a fresh one: it goes into every log
    // line of the request and is stored with accepted mail for the delivery logs (request-id.ts).
    requestIdHeader: false,
    genReqId: requestIdOf,
    return503OnClosing: true,
    // Tracking tokens carry the link they lead to: up to a few kilobytes in one path segment.
    routerOptions: { maxParamLength: 4096 },
    // request.ip is the connecting address unless proxies in front are named (trustProxy).
    ...(config.trustProxy !== null ? { trustProxy: trustProxyOption(config.trustProxy) } : {}),
  });
  app.decorateRequest('apiKey', null);
  app.decorateRequest('dashboardSession', null);
  app.decorate('dashboardStore', rolesOf(config).has('api') ? backend.dashboard : null);
  acceptOnlyJson(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    handleError(new HeraldError('HERALD_ERR_NOT_FOUND', { message: `No route ${request.method} ${request.url.split('?')[0]}` }), request, reply);
  });
  // The request id goes back to the caller on every answer, errors included.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // Per-account request rate, counted once the key is known (the route's onRequest hook has run)
  // and before the body is read: a caller past its limit costs no parsing.
  const limits = new AccountRateLimits(backend.limits, config);
  app.addHook('preParsing', async (request, reply) => {
    if (!request.apiKey) return;
    const use = await limits.takeRequest(request.apiKey.accountId);
    if (!use) return;
    setRateLimitHeaders(reply, use);
    if (!use.allowed) {
      throw new HeraldError('HERALD_ERR_RATE_LIMITED', { message: `too many requests: this account may make ${use.limit} API requests a minute` });
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    // Routes as declared (`/v3/messages/:msg_id`), never the raw URL: labels stay bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    if (route === '/v3/mail/send') metrics.acceptSeconds.observe({ status_class: `${String(reply.statusCode)[0]}xx` }, reply.elapsedTime / 1000);
    // SLO events are counted here, at the source, into per-minute buckets written in batches.
    options.slo?.recorder.response(route, request.method, reply.statusCode, reply.elapsedTime);
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
    limits,
    signingKeys: () => (signing ??= options.signing ? Promise.resolve(options.signing) : SigningKeys.load(config.signingKey, backend.secrets)),
  };
  healthRoutes(app, ctx);
  // Prometheus text format; unauthenticated like the health endpoints, and holding no tenant data.
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));
  if (rolesOf(config).has('tracking')) trackingRoutes(app, ctx);
  if (!rolesOf(config).has('api')) return { app, drain: () => void (draining = true) };
  mailSendRoutes(app, ctx);
  messageRoutes(app, ctx);
  apiKeyRoutes(app, ctx);
  inboxRoutes(app, ctx);
  templateRoutes(app, ctx);
  domainRoutes(app, ctx);
  suppressionRoutes(app, ctx);
  asmGroupRoutes(app, ctx);
  trackingSettingsRoutes(app, ctx);
  webhookRoutes(app, ctx);
  statsRoutes(app, ctx);
  sloRoutes(
    app,
    ctx,
    options.slo
      ? { evaluator: options.slo.evaluator, publicKey: async () => options.slo!.publicKey }
      : {
          evaluator: new SloEvaluator(sloList(config.slos), backend.slos, Date.now, { minEvents: config.sloAlertMinEvents, flushMs: config.sloFlushMs }),
          publicKey: async () => (await loadAlertSigningKey(backend.secrets)).publicKey,
        },
  );
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

/** The `trustProxy` setting as Fastify takes it: true, a hop count, or a list of addresses and CIDRs. */
function trustProxyOption(value: string): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value.split(',').map((v) => v.trim()).filter(Boolean);
}
