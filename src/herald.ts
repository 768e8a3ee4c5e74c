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
  /** The event relay (the `relay` role), null without it. */
  relay: EventRelay | null;
  /** Per-destination traffic shaping, as live configuration last set it. */
  shaper: DestinationShaper;
  /** The full-access key made on first start of an empty data directory; shown once, never stored. */
  firstApiKey: string | null;
  /** Drains and stops: refuses new requests, finishes or releases deliveries, closes the store. */
  stop(): Promise<void>;
}

/** Starts Herald in one process: HTTP API and delivery worker over the configured backend. */
export async function startHerald(options: StartHeraldOptions = {}): Promise<RunningHerald> {
  const config = options.config ?? loadConfig(options);
  const log = createLogger(config.logLevel, options.logDestination);
  if (rolesOf(config).has('relay') && !config.natsUrl) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: 'the relay role copies events into NATS JetStream: set natsUrl' });
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
  const metrics = new HeraldMetrics({ queue: backend.queue, configVersion: () => live.configVersion });
  const metered: Backend = { ...backend, queue: metrics.meter(backend.queue) };
  const worker = new DeliveryWorker(metered.queue, backend.suppressions, backend.domains, transport, config, log.child({ component: 'delivery', transport: transport.name }), shaper, backend.rates, backend.peers);
  log.info({ transport: transport.name }, transportDescription(transport.name));
  const http = buildHttpApi(metered, config, log, { configVersion: () => live.configVersion, metrics, signing });
  try {
    await http.app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await live.close();
    await backend.close();
    throw error;
  }
  if (rolesOf(config).has('delivery')) worker.start();
  let relay: { relay: EventRelay; close(): Promise<void> } | null = null;
  if (rolesOf(config).has('relay')) {
    try {
      const { openEventStream } = await import('./backends/nats/event-stream.js');
      const stream = await openEventStream({ natsUrl: config.natsUrl!, natsEventStream: config.natsEventStream, natsConfigBucket: config.natsConfigBucket });
      const r = new EventRelay(backend.events, stream.log, stream.cursors, log.child({ component: 'event-relay' }));
      r.start();
      relay = { relay: r, close: () => stream.close() };
    } catch (error) {
      await worker.stop();
      await http.app.close();
      await live.close();
      await backend.close();
      throw error;
    }
  }
  const address = http.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | null = null;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    config,
    backend,
    app: http.app,
    log,
    firstApiKey,
    live,
    shaper,
    metrics,
    relay: relay?.relay ?? null,
    stop() {
      stopping ??= (async () => {
        http.drain();
        await http.app.close();
        await worker.stop();
        await relay?.relay.stop();
        await relay?.close();
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
