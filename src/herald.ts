import { SigningKeys } from './ops/signing-keys.js';
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type LoadConfigOptions } from './config/load.js';
import { rolesOf, type HeraldConfig } from './config/settings.js';
import { openBackend, type Backend } from './backends/backend.js';
import { createLogger } from './ops/logger.js';
import { buildHttpApi } from './http-api/server.js';
import { DeliveryWorker } from './delivery/delivery-worker.js';
import { SmtpTransport } from './delivery/smtp/smtp-transport.js';
import { CaptureTransport } from './delivery/capture-transport.js';
import { MxTransport } from './delivery/mx/mx-transport.js';
import { DestinationShaper } from './delivery/destination-shaper.js';
import { HeraldError } from './errors.js';
import { LiveConfig } from './config/live-config.js';
import { EventRelay } from './events/event-relay.js';
import { HeraldMetrics } from './ops/metrics.js';
import type { Transport } from './delivery/transport.js';
import { createApiKey } from './accounts/api-keys.js';
import { SCOPES } from './accounts/scopes.js';
import { ReturnPaths } from './inbound/return-path.js';
import { ReportIntake } from './inbound/report-intake.js';
import type { InboundServer } from './inbound/inbound-server.js';
import { Tracker } from './tracking/tracker.js';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.js';
import { WebhookMetrics } from './webhooks/webhook-metrics.js';
import { StatsProjector } from './stats/stats-projector.js';
import { SloMonitor } from './ops/slo/slo-monitor.js';

export interface StartHeraldOptions extends LoadConfigOptions {
  /** A complete configuration; when given, file, environment and overrides are not read. */
  config?: HeraldConfig;
  /** Where logs go (default stdout). */
  logDestination?: NodeJS.WritableStream;
}

export interface RunningHerald {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:3025. */
  url: string;
  config: HeraldConfig;
  backend: Backend;
  app: FastifyInstance;
  log: Logger;
  /** The live configuration this process runs (changes through NATS KV when `natsUrl` is set). */
  live: LiveConfig;
  /** This process's Prometheus metrics (served at /metrics). */
  metrics: HeraldMetrics;
  /** SLO counting, evaluation and alerting of this process. */
  slo: SloMonitor;
  /** The event relay (the `relay` role), null without it. */
  relay: EventRelay | null;
  /** The Event Webhook dispatcher (the `webhooks` role), null without it. */
  webhooks: WebhookDispatcher | null;
  /** The stats projector (the `api` role), null without it; `catchUp()` counts everything logged so far. */
  stats: StatsProjector | null;
  /** Per-destination traffic shaping, as live configuration last set it. */
  shaper: DestinationShaper;
  /** Port of the inbound SMTP receiver for bounces and complaints, null when this process runs none. */
  inboundPort: number | null;
  /** The full-access key made on first start of an empty data directory; shown once, never stored. */
  firstApiKey: string | null;
  /** Drains and stops: refuses new requests, finishes or releases deliveries, closes the store. */
  stop(): Promise<void>;
}

/** Starts Herald in one process: HTTP API, delivery worker and webhook dispatcher over the configured backend. */
export async function startHerald(options: StartHeraldOptions = {}): Promise<RunningHerald> {
  const config = options.config ?? loadConfig(options);
  const log = createLogger(config.logLevel, options.logDestination);
  if (rolesOf(config).has('relay') && !config.natsUrl) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: 'the relay role copies events into NATS JetStream: set natsUrl' });
  }
  if (config.inboundPort !== null && rolesOf(config).has('inbound') && !config.returnPathDomain) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: 'the inbound receiver takes bounces sent to the return path: set returnPathDomain with inboundPort' });
  }
  if (chooseTransport(config) === 'relay' && !config.smtpRelay) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: 'deliveryTransport is relay but smtpRelay is not set' });
  }
  const backend = await openBackend(config, { exclusive: true });
  let firstApiKey: string | null = null;
  let signing: SigningKeys;
  try {
    signing = await SigningKeys.load(config.signingKey, backend.secrets);
    if ((await backend.accounts.listAccounts()).length === 0) {
      let account;
      try {
        account = await backend.accounts.createAccount('default');
      } catch (error) {
        // In cluster mode another process starting at the same moment may have made it first.
        if (await backend.accounts.findAccountByName('default')) account = null;
        else throw error;
      }
      if (account) {
        firstApiKey = (await createApiKey(backend.accounts, account.id, 'initial full-access key', [...SCOPES])).apiKey;
        log.info({ accountId: account.id }, 'created the default account and its first API key; dashboard users: herald users add <email> --account default');
      }
    }
  } catch (error) {
    await backend.close();
    throw error;
  }
  let live: LiveConfig;
  try {
    live = config.natsUrl ? await LiveConfig.watch(config, log) : LiveConfig.fixed(config, log);
  } catch (error) {
    await backend.close();
    throw error;
  }
  const shaper = new DestinationShaper(live.config, Date.now, backend.rates !== null);
  const transport = makeTransport(live.config, backend, shaper);
  live.onChange((changed) => {
    shaper.reconfigure(changed);
    log.level = changed.logLevel;
    if (transport instanceof MxTransport) transport.resolver.setOverrides(changed.mxOverrides);
  });
  let slo: SloMonitor;
  try {
    slo = await SloMonitor.open({ config, store: backend.slos, secrets: backend.secrets, log });
  } catch (error) {
    await live.close();
    await backend.close();
    throw error;
  }
  const metrics = new HeraldMetrics({ queue: backend.queue, events: backend.events, configVersion: () => live.configVersion, slo: slo.recorder });
  slo.registerMetrics(metrics.registry);
  const metered: Backend = { ...backend, queue: metrics.meter(backend.queue) };
  const returnPaths = config.returnPathDomain ? new ReturnPaths(signing, config.returnPathDomain) : null;
  log.info({ transport: transport.name }, transportDescription(transport.name));
  const http = buildHttpApi(metered, config, log, { configVersion: () => live.configVersion, metrics, signing, slo });
  try {
    await http.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await live.close();
    await backend.close();
    throw error;
  }
  const address = http.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${port}`;
  // Links in mail point to the tracking role's public address; by default this process's own.
  const tracker = new Tracker(signing, backend.trackingSettings, config.trackingBaseUrl ?? url);
  const worker = new DeliveryWorker(metered.queue, backend.suppressions, backend.domains, transport, config, log.child({ component: 'delivery', transport: transport.name }), shaper, backend.rates, backend.peers, returnPaths, tracker);
  if (rolesOf(config).has('delivery')) worker.start();
  const webhookMetrics = new WebhookMetrics(metrics.registry, backend.webhooks);
  const webhooks = rolesOf(config).has('webhooks')
    ? new WebhookDispatcher({ events: backend.events, activity: backend.activity, store: backend.webhooks, settings: config, log: log.child({ component: 'webhooks' }), metrics: webhookMetrics })
    : null;
  webhooks?.start();
  // Every api process runs one: the one holding the store's lead counts, the others stand by, so
  // stats keep up as long as any api process is up (a cluster needs no extra role for it).
  const stats = rolesOf(config).has('api')
    ? new StatsProjector(backend.events, backend.activity, backend.stats, log.child({ component: 'stats' }), { idleMs: config.statsPollMs })
    : null;
  stats?.start();
  slo.start();
  let relay: { relay: EventRelay; close(): Promise<void> } | null = null;
  if (rolesOf(config).has('relay')) {
    try {
      const { openEventStream } = await import('./backends/nats/event-stream.js');
      const stream = await openEventStream({ natsUrl: config.natsUrl!, natsEventStream: config.natsEventStream, natsConfigBucket: config.natsConfigBucket });
      const r = new EventRelay(backend.events, stream.log, stream.cursors, log.child({ component: 'event-relay' }));
      r.start();
      relay = { relay: r, close: () => stream.close() };
    } catch (error) {
      await stats?.stop();
      await worker.stop();
      await webhooks?.stop(0);
      await slo.stop();
      await http.app.close();
      await live.close();
      await backend.close();
      throw error;
    }
  }
  let inbound: InboundServer | null = null;
  let inboundPort: number | null = null;
  if (rolesOf(config).has('inbound') && config.inboundPort !== null && returnPaths) {
    const inboundLog = log.child({ component: 'inbound' });
    // Loaded only by a process that receives mail: smtp-server stays out of the others.
    const { InboundServer } = await import('./inbound/inbound-server.js');
    inbound = new InboundServer(config, returnPaths, new ReportIntake(backend.activity, backend.engagement, returnPaths, inboundLog), inboundLog, metrics);
    try {
      inboundPort = await inbound.listen(config.inboundPort);
    } catch (error) {
      await stats?.stop();
      await worker.stop();
      await webhooks?.stop(0);
      await slo.stop();
      await relay?.relay.stop();
      await relay?.close();
      await http.app.close();
      await live.close();
      await backend.close();
      throw error;
    }
    log.info({ host: config.inboundHost, port: inboundPort, domain: returnPaths.domain }, 'receiving bounces and complaints over SMTP');
  }
  let stopping: Promise<void> | null = null;
  return {
    url,
    config,
    backend,
    app: http.app,
    log,
    firstApiKey,
    live,
    shaper,
    metrics,
    slo,
    relay: relay?.relay ?? null,
    inboundPort,
    webhooks,
    stats,
    stop() {
      stopping ??= (async () => {
        http.drain();
        // Requests and deliveries in flight share one grace period (shutdownGraceMs). A request
        // still going when it ends (a client trickling a body, a caller that never reads its
        // answer) has its connection cut: nothing of it was accepted, since a 2xx is only sent
        // once the mail is durable. Without the cut, Node would wait for it up to requestTimeout.
        const cut = setTimeout(() => http.app.server.closeAllConnections(), config.shutdownGraceMs);
        cut.unref();
        // Webhook batches in flight share the same grace; then leases are released.
        await Promise.all([
          http.app.close().finally(() => clearTimeout(cut)),
          worker.stop(config.shutdownGraceMs),
          webhooks?.stop(config.shutdownGraceMs),
        ]);
        // Reports being recorded finish before the store closes.
        await inbound?.close();
        // After the last request and delivery: their counts are written before the store closes.
        await slo.stop();
        await relay?.relay.stop();
        await relay?.close();
        await stats?.stop();
        await transport.close();
        await live.close();
        await backend.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** The transport `deliveryTransport` names; `auto` is relay when one is set, MX in production, else capture. */
export function chooseTransport(config: Pick<HeraldConfig, 'deliveryTransport' | 'smtpRelay'>, env: NodeJS.ProcessEnv = process.env): 'capture' | 'mx' | 'relay' {
  if (config.deliveryTransport !== 'auto') return config.deliveryTransport;
  if (config.smtpRelay) return 'relay';
  return env.NODE_ENV === 'production' ? 'mx' : 'capture';
}

function makeTransport(config: HeraldConfig, backend: Backend, shaper: DestinationShaper): Transport {
  switch (chooseTransport(config)) {
    case 'relay':
      return new SmtpTransport(config);
    case 'mx':
      return new MxTransport(config, shaper);
    case 'capture':
      return new CaptureTransport(backend.inbox);
  }
}

function transportDescription(name: string): string {
  if (name === 'mx') return 'delivering straight to each domain\'s MX hosts';
  if (name === 'relay') return 'delivering through the SMTP relay';
  return 'capturing mail into the local inbox (GET /v1/inbox); set smtpRelay, or deliveryTransport=mx, to send for real';
}
