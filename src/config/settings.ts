import { hostname } from 'node:os';
import { DEFAULT_SLOS, type SloSpec } from '../ops/slo/slo-definitions.js';

/**
 * Every setting Herald reads, with its default and unit. One table drives the defaults, the
 * environment (`HERALD_` + the key in SNAKE_CASE), the CLI flags (`--` + kebab-case), the checks at
 * start-up and `docs/config.md` (a test keeps the doc in step).
 */
export interface HeraldConfig {
  /** What this process does, comma-separated: api, delivery, webhooks, tracking, relay, inbound. */
  roles: string;
  /** Interface the HTTP API listens on. */
  host: string;
  /** Port of the HTTP API. */
  port: number;
  /** Folder for the SQLite database and the lock file. */
  dataDir: string;
  /** Where state lives: sqlite (embedded, one process) or postgres (cluster mode). */
  backend: 'sqlite' | 'postgres';
  /** PostgreSQL connection URL (cluster mode). */
  databaseUrl: string | null;
  /** PostgreSQL schema Herald's tables live in; null uses the server's search_path. */
  databaseSchema: string | null;
  /** Most PostgreSQL connections this process opens. */
  databasePoolSize: number;
  /** NATS server URL(s), comma-separated: live configuration (KV) in cluster mode. */
  natsUrl: string | null;
  /** NATS KV bucket holding live configuration. */
  natsConfigBucket: string;
  /** JetStream stream the `relay` role copies the event log into. */
  natsEventStream: string;
  /** How messages leave: auto, capture (local inbox), mx (direct to each domain's MX) or relay (smarthost). */
  deliveryTransport: 'auto' | 'capture' | 'mx' | 'relay';
  /** Smarthost URL (smtp:// or smtps://, user:pass optional). */
  smtpRelay: string | null;
  /** Verify the relay's TLS certificate (STARTTLS or smtps). */
  smtpRelayTlsVerify: boolean;
  /** Most SMTP connections open to the relay at once. */
  smtpPoolSize: number;
  /** Time to open a TCP connection to an SMTP server, ms. */
  smtpConnectTimeoutMs: number;
  /** Time to wait for the greeting after connecting, ms. */
  smtpGreetingTimeoutMs: number;
  /** Idle time on an SMTP socket before giving up, ms (RFC 5321 §4.5.3.2 asks for minutes). */
  smtpSocketTimeoutMs: number;
  /** Port MX hosts are reached on (25; tests and relaying setups use others). */
  smtpPort: number;
  /** Connect to MX hosts over IPv6 too. */
  smtpIpv6: boolean;
  /** Try an MX host's IPv6 addresses before its IPv4 ones. */
  smtpPreferIpv6: boolean;
  /** DNS servers for MX lookups (`host` or `host:port`, comma-separated); null uses the system's. */
  dnsServers: string | null;
  /** Time one DNS server has to answer one query, ms. */
  dnsTimeoutMs: number;
  /** Further rounds over every DNS server after a query fails. */
  dnsRetries: number;
  /** Shortest time an MX answer is cached, s. */
  dnsMinTtlS: number;
  /** Longest time an MX answer is cached, s. */
  dnsMaxTtlS: number;
  /** How long a non-existent domain is cached when DNS gives no SOA TTL, s. */
  dnsNegativeTtlS: number;
  /** Most domains kept in the MX cache. */
  dnsCacheSize: number;
  /** Most MX hosts tried for one domain. */
  mxMaxHosts: number;
  /** Domains sent to fixed hosts instead of their MX: `{"example.com": ["127.0.0.2:2525"]}`. */
  mxOverrides: Record<string, string[]>;
  /** Most SMTP connections to one destination's MX host (direct MX delivery). */
  destinationMaxConnections: number;
  /** Messages sent over one connection before it is closed and a fresh one opened. */
  destinationMaxMessagesPerConnection: number;
  /** Most messages per second to one destination; 0 is unlimited. */
  destinationMessagesPerSecond: number;
  /** Consecutive connection failures that pause a destination; 0 never pauses. */
  destinationBreakerFailures: number;
  /** How long a paused destination waits before one probe attempt, ms. */
  destinationBreakerPauseMs: number;
  /** Per-destination limits that replace the defaults above. */
  destinationOverrides: Record<string, DestinationOverride>;
  /** Name announced in EHLO and used on the right of generated Message-IDs. */
  hostname: string;
  /** Most messages being delivered at once by this process (composing, waiting for a connection, on the wire); those whose server has answered and whose outcome is being written do not count, up to four times as many. */
  deliveryConcurrency: number;
  /** How long a claimed message stays leased to its worker before another may claim it, ms. */
  deliveryLeaseMs: number;
  /** How often an idle worker looks for scheduled or retried messages, ms. */
  deliveryPollMs: number;
  /** How often the stats projector looks for new events once caught up, ms. */
  statsPollMs: number;
  /** First retry delay after a deferral, ms; each further one doubles, with jitter. */
  retryBaseMs: number;
  /** Longest delay between two attempts, ms. */
  retryMaxMs: number;
  /** A message not delivered after this long bounces as expired, ms (72 h, as SendGrid). */
  messageMaxAgeMs: number;
  /** Messages queued (all processes) past which new mail is refused with 429. */
  maxQueuedMessages: number;
  /** API requests one account may make per minute (fixed window), all processes; 0 is unlimited. */
  accountRequestsPerMinute: number;
  /** Messages one account may have accepted per UTC day, all processes; 0 is unlimited. */
  accountMessagesPerDay: number;
  /** Largest accepted HTTP request body, bytes (SendGrid's limit is 30 MB). */
  maxRequestBytes: number;
  /** pino log level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Time SIGTERM allows in-flight deliveries to finish before their leases are released, ms. */
  shutdownGraceMs: number;
  /** Let webhook endpoints be private, loopback, link-local or other reserved addresses. */
  webhookAllowPrivateTargets: boolean;
  /** Most events in one webhook POST. */
  webhookBatchMaxEvents: number;
  /** Longest an event waits for its batch to fill before it is sent anyway, ms. */
  webhookBatchWaitMs: number;
  /** Most webhook POSTs in flight at once from this process. */
  webhookConcurrency: number;
  /** Time to connect to a webhook endpoint, ms. */
  webhookConnectTimeoutMs: number;
  /** Time a webhook endpoint has to answer completely, ms. */
  webhookResponseTimeoutMs: number;
  /** Most bytes of a webhook endpoint's reply read; the rest is not waited for. */
  webhookMaxResponseBytes: number;
  /** First delay after a failed webhook POST, ms; each further one doubles, with jitter. */
  webhookRetryBaseMs: number;
  /** Longest delay between two webhook attempts, ms. */
  webhookRetryMaxMs: number;
  /** How long a webhook batch is retried before it is dropped, ms. */
  webhookRetryWindowMs: number;
  /** How long a claimed webhook batch stays leased to its process, ms. */
  webhookLeaseMs: number;
  /** How often the webhook dispatcher looks for new events and due batches, ms. */
  webhookPollMs: number;
  /** 32-byte key (base64 or hex) sealing DKIM private keys at rest with AES-256-GCM; null stores them as plain PEM. */
  dkimKeyEncryptionKey: string | null;
  /** Root key of the HMACs signing tracking links, unsubscribe links and return paths; null: made once and kept in the store. */
  signingKey: string | null;
  /** Public URL the open, click and unsubscribe links in mail point to; null: http://host:port of this process. */
  trackingBaseUrl: string | null;
  /** Age past which tracking and unsubscribe links are refused, s. */
  trackingTokenMaxAgeS: number;
  /** Proxies whose X-Forwarded-For is believed (Fastify's trustProxy): true, a hop count, or addresses/CIDRs; null believes none. */
  trustProxy: string | null;
  /** DNS servers (`host` or `host:port`, comma-separated) that sending-domain checks ask; null uses the system's. */
  dnsCheckServers: string | null;
  /** Domain the suggested SPF record includes (`include:<this>`); null suggests none. */
  spfInclude: string | null;
  /** IP addresses mail leaves from (comma-separated), listed as ip4:/ip6: in the suggested SPF record; null lists none. */
  sendingIps: string | null;
  /** Address DMARC aggregate reports go to in the suggested record; null suggests `dmarc-reports@<domain>`. */
  dmarcRua: string | null;
  /** Domain of the VERP return path (MAIL FROM `bounces+<token>@<domain>`); null sends with MAIL FROM = the From address. */
  returnPathDomain: string | null;
  /** Port the inbound SMTP receiver for bounces and complaints listens on; null runs none. */
  inboundPort: number | null;
  /** Interface the inbound SMTP receiver listens on. */
  inboundHost: string;
  /** Largest message the inbound receiver takes, bytes (advertised as SIZE, RFC 1870). */
  inboundMaxMessageBytes: number;
  /** Most recipients of one inbound SMTP transaction. */
  inboundMaxRecipients: number;
  /** Most inbound SMTP connections open at once. */
  inboundMaxConnections: number;
  /** Most inbound SMTP connections open at once from one IP address. */
  inboundMaxConnectionsPerIp: number;
  /** Idle time on an inbound SMTP connection before it is closed, ms. */
  inboundSocketTimeoutMs: number;
  /** Service level objectives, keyed by name (docs/operations.md). */
  slos: Record<string, SloSpec>;
  /** Events the long window of a burn-rate rule needs before it may alert. */
  sloAlertMinEvents: number;
  /** URLs SLO alerts are posted to, signed like the Event Webhook. */
  sloAlertWebhookUrls: string[];
  /** How often SLO counts are written to the store, ms. */
  sloFlushMs: number;
  /** How often SLOs are evaluated and alerts fired or cleared, ms. */
  sloEvaluateMs: number;
  /** How long a dashboard sign-in lasts, ms. */
  dashboardSessionTtlMs: number;
  /** Failed dashboard sign-ins for one address that lock it out for the rest of the window (a client IP: four times as many). */
  dashboardLoginMaxFailures: number;
  /** Window failed dashboard sign-ins are counted in, and the lockout, ms. */
  dashboardLoginWindowMs: number;
}

/** Limits for one destination; what is left out keeps the default. */
export interface DestinationOverride {
  maxConnections?: number;
  maxMessagesPerConnection?: number;
  messagesPerSecond?: number;
}

type Kind = 'string' | 'nullable-string' | 'integer' | 'nullable-integer' | 'boolean' | 'enum' | 'json';

export interface Setting<K extends keyof HeraldConfig = keyof HeraldConfig> {
  key: K;
  kind: Kind;
  default: HeraldConfig[K];
  min?: number;
  max?: number;
  values?: readonly string[];
  doc: string;
}

const MINUTE = 60 * 1000;

/**
 * Starting points for the big mailbox providers, which throttle senders that open many connections
 * or push many messages down one: a new sending IP should stay well under these until it has a
 * reputation. Setting `destinationOverrides` replaces this whole map.
 */
export const PROVIDER_LIMITS: Record<string, DestinationOverride> = {
  'gmail.com': { maxConnections: 20, maxMessagesPerConnection: 100 },
  'googlemail.com': { maxConnections: 20, maxMessagesPerConnection: 100 },
  'outlook.com': { maxConnections: 10, maxMessagesPerConnection: 20 },
  'hotmail.com': { maxConnections: 10, maxMessagesPerConnection: 20 },
  'live.com': { maxConnections: 10, maxMessagesPerConnection: 20 },
  'yahoo.com': { maxConnections: 10, maxMessagesPerConnection: 20 },
  'aol.com': { maxConnections: 10, maxMessagesPerConnection: 20 },
};
const HOUR = 60 * MINUTE;

/**
 * Settings that change without a restart (`herald config set` in cluster mode): what traffic
 * shaping, MX routing and logging read at each use. Everything else is read once at start.
 */
export const LIVE_SETTINGS = [
  'destinationOverrides',
  'destinationMaxConnections',
  'destinationMaxMessagesPerConnection',
  'destinationMessagesPerSecond',
  'destinationBreakerFailures',
  'destinationBreakerPauseMs',
  'mxOverrides',
  'logLevel',
] as const satisfies readonly (keyof HeraldConfig)[];
export type LiveSetting = (typeof LIVE_SETTINGS)[number];

/** The roles a process can take; `roles` lists some of them. */
export const ROLES = ['api', 'delivery', 'relay', 'webhooks', 'tracking', 'inbound'] as const;
export type Role = (typeof ROLES)[number];

/** `"api, delivery"` → ['api', 'delivery']. */
export function rolesOf(config: Pick<HeraldConfig, 'roles'>): Set<Role> {
  return new Set(config.roles.split(',').map((r) => r.trim()).filter(Boolean) as Role[]);
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'roles',
    kind: 'string',
    default: 'api,delivery,webhooks,tracking,inbound',
    doc: 'What this process does, comma-separated. `api`: the HTTP API (health endpoints are always served). `delivery`: claims and delivers queued mail. `webhooks`: sends events to Event Webhook endpoints. `tracking`: serves the open pixel, click redirects and unsubscribe pages that links in mail point to (`trackingBaseUrl`). `relay`: copies the event log into the `natsEventStream` JetStream stream (needs `natsUrl`). `inbound`: receives bounces and complaints over SMTP on `inboundPort` (nothing while `inboundPort` is unset). In cluster mode run any number of processes with any roles against the same PostgreSQL.',
  },
  { key: 'host', kind: 'string', default: '127.0.0.1', doc: 'Interface the HTTP API listens on.' },
  { key: 'port', kind: 'integer', default: 3025, min: 0, max: 65535, doc: 'Port of the HTTP API.' },
  { key: 'dataDir', kind: 'string', default: './data', doc: 'Folder for the SQLite database and the lock file.' },
  {
    key: 'backend',
    kind: 'enum',
    default: 'sqlite',
    values: ['sqlite', 'postgres'],
    doc: 'Where state lives. `sqlite`: one embedded file in `dataDir`, one Herald process. `postgres`: PostgreSQL at `databaseUrl`, any number of Herald processes (cluster mode, docs/scaling.md).',
  },
  { key: 'databaseUrl', kind: 'nullable-string', default: null, doc: 'PostgreSQL connection URL for `backend: postgres`, e.g. `postgres://herald@db.internal:5432/herald`. Its password is never printed.' },
  { key: 'databaseSchema', kind: 'nullable-string', default: null, doc: "PostgreSQL schema Herald's tables live in, created if missing. Unset: the server's `search_path` (usually `public`)." },
  { key: 'natsUrl', kind: 'nullable-string', default: null, doc: 'NATS server(s), e.g. `nats://10.0.0.5:4222,nats://10.0.0.6:4222`. When set, every process watches the `natsConfigBucket` KV bucket and applies the live settings written there (`herald config set`) without a restart.' },
  { key: 'natsConfigBucket', kind: 'string', default: 'herald_config', doc: 'NATS KV bucket of live configuration; one per Herald installation. The relay keeps its cursor in `<bucket>_state`.' },
  { key: 'natsEventStream', kind: 'string', default: 'HERALD_EVENTS', doc: 'JetStream stream (subjects `<stream in lower case>.<account>.<type>`, e.g. `herald_events.…`) the `relay` role copies every event into, for consumers and other datacenters (docs/scaling.md).' },
  { key: 'databasePoolSize', kind: 'integer', default: 10, min: 1, max: 1000, doc: 'Most PostgreSQL connections one Herald process opens.' },
  {
    key: 'deliveryTransport',
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'capture', 'mx', 'relay'],
    doc: 'How messages leave. `capture`: into the local inbox (`/v1/inbox`), for development. `mx`: straight to each recipient domain\'s MX hosts. `relay`: through `smtpRelay`. `auto`: `relay` when `smtpRelay` is set, else `mx` when `NODE_ENV=production`, else `capture`.',
  },
  {
    key: 'smtpRelay',
    kind: 'nullable-string',
    default: null,
    doc: 'Smarthost URL, `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...` (TLS from the start).',
  },
  { key: 'smtpRelayTlsVerify', kind: 'boolean', default: true, doc: "Verify the relay's TLS certificate." },
  { key: 'smtpPoolSize', kind: 'integer', default: 8, min: 1, max: 1000, doc: 'Most SMTP connections open to the relay at once.' },
  { key: 'smtpConnectTimeoutMs', kind: 'integer', default: 30 * 1000, min: 100, max: 10 * MINUTE, doc: 'Time to open a TCP connection to an SMTP server, ms.' },
  { key: 'smtpGreetingTimeoutMs', kind: 'integer', default: 5 * MINUTE, min: 100, max: 30 * MINUTE, doc: 'Time to wait for the SMTP greeting, ms (RFC 5321 §4.5.3.2.1: 5 minutes).' },
  { key: 'smtpSocketTimeoutMs', kind: 'integer', default: 10 * MINUTE, min: 100, max: 60 * MINUTE, doc: 'Idle time on an SMTP socket before giving up, ms (RFC 5321 §4.5.3.2.6: 10 minutes after DATA).' },
  { key: 'smtpPort', kind: 'integer', default: 25, min: 1, max: 65535, doc: 'Port MX hosts are reached on. 25 on the Internet; `mxOverrides` entries may name their own.' },
  { key: 'smtpIpv6', kind: 'boolean', default: true, doc: 'Look up AAAA records and connect to MX hosts over IPv6 too.' },
  { key: 'smtpPreferIpv6', kind: 'boolean', default: false, doc: "Try an MX host's IPv6 addresses before its IPv4 ones." },
  { key: 'dnsServers', kind: 'nullable-string', default: null, doc: 'DNS servers for MX lookups, `host` or `host:port`, comma-separated. Unset: the system resolvers.' },
  { key: 'dnsTimeoutMs', kind: 'integer', default: 5000, min: 100, max: MINUTE, doc: 'Time one DNS server has to answer one query, ms.' },
  { key: 'dnsRetries', kind: 'integer', default: 1, min: 0, max: 5, doc: 'Further rounds over every DNS server after a query fails.' },
  { key: 'dnsMinTtlS', kind: 'integer', default: 5, min: 0, max: 3600, doc: 'Shortest time an MX answer is cached whatever its TTL, s; also how long a failed lookup is remembered.' },
  { key: 'dnsMaxTtlS', kind: 'integer', default: 3600, min: 1, max: 7 * 24 * 3600, doc: 'Longest time an MX answer is cached whatever its TTL, s.' },
  { key: 'dnsNegativeTtlS', kind: 'integer', default: 300, min: 0, max: 24 * 3600, doc: 'How long a non-existent domain is remembered when DNS gives no SOA TTL, s.' },
  { key: 'dnsCacheSize', kind: 'integer', default: 10_000, min: 10, max: 1_000_000, doc: 'Most domains kept in the MX cache; the oldest entry goes first.' },
  { key: 'mxMaxHosts', kind: 'integer', default: 10, min: 1, max: 50, doc: 'Most MX hosts tried for one domain, by preference.' },
  {
    key: 'mxOverrides',
    kind: 'json',
    default: {},
    doc: 'Domains sent to fixed hosts instead of their MX, tried in order: `{"example.com": ["10.0.0.5", "mx.internal:2525", "[::1]:2526"]}`. In the environment, the same JSON.',
  },
  { key: 'destinationMaxConnections', kind: 'integer', default: 10, min: 1, max: 1000, doc: "Most SMTP connections to one destination's MX host. At most four times this many of its messages are in progress at once." },
  { key: 'destinationMaxMessagesPerConnection', kind: 'integer', default: 1000, min: 1, max: 100_000, doc: 'Messages sent over one connection before it says QUIT and a fresh one takes over. The big mailbox providers get lower limits of their own (`destinationOverrides`).' },
  { key: 'destinationMessagesPerSecond', kind: 'integer', default: 0, min: 0, max: 100_000, doc: 'Most messages per second to one destination; 0 is unlimited.' },
  { key: 'destinationBreakerFailures', kind: 'integer', default: 5, min: 0, max: 1000, doc: 'Consecutive connection failures (refused, timed out, greeting or EHLO refused) that pause a destination; its messages wait in the queue, unattempted. 0 never pauses.' },
  { key: 'destinationBreakerPauseMs', kind: 'integer', default: MINUTE, min: 100, max: HOUR, doc: 'How long a paused destination waits before one probe attempt, ms; each failed probe doubles it, up to 16 times.' },
  {
    key: 'destinationOverrides',
    kind: 'json',
    default: PROVIDER_LIMITS,
    doc: 'Per-destination limits that replace the defaults: `{"example.com": {"maxConnections": 2, "maxMessagesPerConnection": 50, "messagesPerSecond": 10}}`. The default holds starting points for Gmail, Outlook, Yahoo and AOL; setting it replaces them all.',
  },
  { key: 'hostname', kind: 'string', default: hostname(), doc: 'Name announced in EHLO and used in generated Message-IDs. Default: the machine name.' },
  { key: 'deliveryConcurrency', kind: 'integer', default: 64, min: 1, max: 10000, doc: 'Most messages being delivered at once by this process (composing, waiting for a connection, on the wire); those whose server has answered and whose outcome is being written do not count, up to four times as many.' },
  { key: 'deliveryLeaseMs', kind: 'integer', default: 2 * MINUTE, min: 1000, max: HOUR, doc: 'How long a claimed message stays leased to its worker before another may claim it, ms. Workers renew leases of slow deliveries.' },
  { key: 'deliveryPollMs', kind: 'integer', default: 1000, min: 10, max: MINUTE, doc: 'How often an idle worker looks for scheduled or retried messages, ms.' },
  { key: 'statsPollMs', kind: 'integer', default: 500, min: 10, max: MINUTE, doc: 'How often the stats projector (run by every `api` process; one at a time counts) looks for new events once caught up, ms: about how far `/v3/stats` lags the event log.' },
  { key: 'retryBaseMs', kind: 'integer', default: MINUTE, min: 10, max: 24 * HOUR, doc: 'First retry delay after a deferral, ms; each further one doubles, with ±20% jitter.' },
  { key: 'retryMaxMs', kind: 'integer', default: HOUR, min: 10, max: 24 * HOUR, doc: 'Longest delay between two attempts, ms.' },
  { key: 'messageMaxAgeMs', kind: 'integer', default: 72 * HOUR, min: 1000, max: 30 * 24 * HOUR, doc: 'A message still undelivered this long after it was accepted bounces as expired, ms (72 h, as SendGrid).' },
  { key: 'maxQueuedMessages', kind: 'integer', default: 10_000_000, min: 1, max: 1_000_000_000, doc: 'Messages queued (ready, scheduled or being delivered, all processes) past which `POST /v3/mail/send` answers 429 with Retry-After instead of growing the backlog.' },
  { key: 'accountRequestsPerMinute', kind: 'integer', default: 0, min: 0, max: 100_000_000, doc: 'API requests one account may make per minute (a fixed window per UTC minute, shared by every process); past it the API answers 429 with Retry-After and `X-RateLimit-*` headers. 0 is unlimited. `herald accounts limits` sets it per account.' },
  { key: 'accountMessagesPerDay', kind: 'integer', default: 0, min: 0, max: 1_000_000_000, doc: 'Messages (recipients) one account may have accepted per UTC day, counted durably at accept; a send that would pass it is refused whole with 429. 0 is unlimited. `herald accounts limits` sets it per account.' },
  { key: 'maxRequestBytes', kind: 'integer', default: 30 * 1024 * 1024, min: 1024, max: 100 * 1024 * 1024, doc: 'Largest accepted HTTP request body, bytes (SendGrid: 30 MB).' },
  { key: 'logLevel', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level.' },
  { key: 'shutdownGraceMs', kind: 'integer', default: 10 * 1000, min: 0, max: 10 * MINUTE, doc: 'Time SIGTERM gives in-flight deliveries to finish before their leases are released, ms.' },
  { key: 'webhookAllowPrivateTargets', kind: 'boolean', default: false, doc: 'Let Event Webhook endpoints resolve to private (RFC 1918), loopback, link-local, unique-local, CGNAT, multicast or unspecified addresses. Off, such URLs are refused when an endpoint is saved (400) and again at every send, where Herald connects only to the address it checked.' },
  { key: 'webhookBatchMaxEvents', kind: 'integer', default: 500, min: 1, max: 10_000, doc: 'Most events in one Event Webhook POST; an endpoint with this many waiting is sent to at once.' },
  { key: 'webhookBatchWaitMs', kind: 'integer', default: 5000, min: 0, max: 10 * MINUTE, doc: 'Longest an event waits for its webhook batch to fill before the batch is sent anyway, ms.' },
  { key: 'webhookConcurrency', kind: 'integer', default: 16, min: 1, max: 1000, doc: 'Most Event Webhook POSTs in flight at once from one process (one per endpoint at a time).' },
  { key: 'webhookConnectTimeoutMs', kind: 'integer', default: 5000, min: 100, max: MINUTE, doc: 'Time to connect to a webhook endpoint (TCP and TLS), ms.' },
  { key: 'webhookResponseTimeoutMs', kind: 'integer', default: 15_000, min: 100, max: 5 * MINUTE, doc: 'Time a webhook endpoint has from the start of the POST to the end of its reply, ms; past it the attempt failed and is retried.' },
  { key: 'webhookMaxResponseBytes', kind: 'integer', default: 64 * 1024, min: 0, max: 10 * 1024 * 1024, doc: "Most bytes of a webhook endpoint's reply read; the verdict is the status code, the rest is not read." },
  { key: 'webhookRetryBaseMs', kind: 'integer', default: 10_000, min: 10, max: HOUR, doc: 'First delay after a failed Event Webhook POST, ms; each further one doubles, with ±20% jitter.' },
  { key: 'webhookRetryMaxMs', kind: 'integer', default: HOUR, min: 10, max: 24 * HOUR, doc: 'Longest delay between two Event Webhook attempts, ms.' },
  { key: 'webhookRetryWindowMs', kind: 'integer', default: 24 * HOUR, min: 24 * HOUR, max: 30 * 24 * HOUR, doc: 'How long an event is retried, from when it was queued for its endpoint (24 h, as SendGrid, at least); a batch failing past it is dropped, logged at error and counted in `herald_webhook_events_total{outcome="dropped"}`.' },
  { key: 'webhookLeaseMs', kind: 'integer', default: MINUTE, min: 1000, max: HOUR, doc: 'How long a claimed webhook batch stays leased to its process before another may take it, ms. Longer than `webhookResponseTimeoutMs`.' },
  { key: 'webhookPollMs', kind: 'integer', default: 1000, min: 10, max: MINUTE, doc: 'How often the webhook dispatcher reads new events and looks for due batches, ms.' },
  {
    key: 'dkimKeyEncryptionKey',
    kind: 'nullable-string',
    default: null,
    doc: 'Key sealing DKIM and Event Webhook signing private keys at rest (AES-256-GCM): 32 bytes as base64 or hex, e.g. from `openssl rand -base64 32`. Unset: keys are stored as plain PEM in the database. Keys sealed with it need it to sign; never change it while domains exist.',
  },
  {
    key: 'signingKey',
    kind: 'nullable-string',
    default: null,
    doc: 'Root key of the HMACs that sign tracking links, unsubscribe links and bounce return paths: 32 bytes as base64 or hex, e.g. from `openssl rand -base64 32`. Unset: Herald makes one on first start and keeps it in the store, so every process of a cluster shares it. Changing it invalidates links in mail already sent.',
  },
  {
    key: 'trackingBaseUrl',
    kind: 'nullable-string',
    default: null,
    doc: 'Public URL the open pixel, click and unsubscribe links in mail point to, e.g. `https://t.example.com`: the address of the processes with the `tracking` role. Unset: `http://<host>:<port>` of the delivering process, for development. RFC 8058 one-click unsubscribe wants `https://`.',
  },
  { key: 'trackingTokenMaxAgeS', kind: 'integer', default: 365 * 24 * 3600, min: 3600, max: 10 * 365 * 24 * 3600, doc: 'Age past which open, click and unsubscribe links in mail are refused (404), s. Default one year.' },
  {
    key: 'trustProxy',
    kind: 'nullable-string',
    default: null,
    doc: "Proxies in front of Herald whose `X-Forwarded-For` is believed for the client address recorded with opens, clicks and unsubscribes (Fastify's `trustProxy`): `true`, a hop count such as `1`, or addresses and CIDRs such as `10.0.0.0/8,127.0.0.1`. Unset: the connecting address.",
  },
  { key: 'dnsCheckServers', kind: 'nullable-string', default: null, doc: 'DNS servers sending-domain checks ask, `host` or `host:port`, comma-separated. Unset: the system resolvers.' },
  { key: 'spfInclude', kind: 'nullable-string', default: null, doc: 'Domain the suggested SPF record includes (`include:<domain>`), e.g. your relay provider\'s. Unset: none.' },
  { key: 'sendingIps', kind: 'nullable-string', default: null, doc: 'IP addresses mail leaves from, comma-separated, listed as `ip4:`/`ip6:` in the suggested SPF record. Unset: none (the record then suggests `mx`).' },
  { key: 'dmarcRua', kind: 'nullable-string', default: null, doc: 'Address DMARC aggregate reports go to in the suggested `_dmarc` record. Unset: `dmarc-reports@<domain>`.' },
  {
    key: 'returnPathDomain',
    kind: 'nullable-string',
    default: null,
    doc: 'Domain of the return path (VERP): every delivery is sent with MAIL FROM `bounces+<token>@<domain>`, the token naming the message under an HMAC of `signingKey`, so bounces and complaints coming back to it are matched to their message by the inbound receiver. Its MX record points at `inboundPort`. Unset: MAIL FROM is the From address.',
  },
  { key: 'inboundPort', kind: 'nullable-integer', default: null, min: 0, max: 65535, doc: 'Port the inbound SMTP receiver (the `inbound` role) listens on for bounces (RFC 3464 DSNs) and complaints (RFC 5965 ARF) sent to `returnPathDomain`; 25 on the Internet. Needs `returnPathDomain`. Unset: no receiver.' },
  { key: 'inboundHost', kind: 'string', default: '0.0.0.0', doc: 'Interface the inbound SMTP receiver listens on.' },
  { key: 'inboundMaxMessageBytes', kind: 'integer', default: 10 * 1024 * 1024, min: 1024, max: 100 * 1024 * 1024, doc: 'Largest message the inbound receiver takes, bytes; advertised as SIZE (RFC 1870), a larger one is refused with 552 5.3.4.' },
  { key: 'inboundMaxRecipients', kind: 'integer', default: 100, min: 1, max: 10_000, doc: 'Most recipients of one inbound SMTP transaction; further RCPT TO get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks for at least 100).' },
  { key: 'inboundMaxConnections', kind: 'integer', default: 100, min: 1, max: 100_000, doc: 'Most inbound SMTP connections open at once; more are answered 421 and closed.' },
  { key: 'inboundMaxConnectionsPerIp', kind: 'integer', default: 10, min: 1, max: 100_000, doc: 'Most inbound SMTP connections open at once from one IP address; more are answered 421 4.7.0 and closed.' },
  { key: 'inboundSocketTimeoutMs', kind: 'integer', default: 5 * MINUTE, min: 100, max: HOUR, doc: 'Idle time on an inbound SMTP connection before it is closed, ms (RFC 5321 §4.5.3.2.7: 5 minutes).' },
  {
    key: 'slos',
    kind: 'json',
    default: DEFAULT_SLOS,
    doc: 'Service level objectives, keyed by name (lowercase letters, digits, `-`; at most 20): `{"api-availability": {"description": "...", "objective": 0.9995, "windowDays": 30, "sli": {"kind": "availability"}}}`. `sli.kind` is `availability` (API responses not 5xx; 429 counts as good), `accept-latency` (`POST /v3/mail/send` accepted with 202 within `sli.thresholdMs`) or `time-to-deliver` (messages delivered within `sli.thresholdMs` of accept or `send_at`). `objective` 0.5–0.99999, `windowDays` 1–30 (default 30). Setting it replaces the defaults. See docs/operations.md.',
  },
  { key: 'sloAlertMinEvents', kind: 'integer', default: 100, min: 0, max: 1_000_000_000, doc: 'Events the long window of a burn-rate rule must hold before the rule may alert: a handful of requests with one error does not page.' },
  {
    key: 'sloAlertWebhookUrls',
    kind: 'json',
    default: [],
    doc: 'URLs (http or https, at most 10) each SLO alert change is posted to as JSON, signed like the Event Webhook (ECDSA P-256, `X-Twilio-Email-Event-Webhook-Signature` and `-Timestamp`; the verification key is in `GET /v1/slos`). Retried with backoff, at most 6 attempts. In the environment, a JSON array.',
  },
  { key: 'sloFlushMs', kind: 'integer', default: 5000, min: 100, max: MINUTE, doc: 'How often each process adds its SLO counts to the store, ms (one batched write, never one per request).' },
  { key: 'sloEvaluateMs', kind: 'integer', default: 30 * 1000, min: 1000, max: 10 * MINUTE, doc: 'How often SLOs are evaluated and alerts fired or cleared, ms.' },
  { key: 'dashboardSessionTtlMs', kind: 'integer', default: 12 * HOUR, min: MINUTE, max: 30 * 24 * HOUR, doc: 'How long a dashboard sign-in lasts, ms; the session then expires whatever the activity.' },
  { key: 'dashboardLoginMaxFailures', kind: 'integer', default: 5, min: 1, max: 1000, doc: 'Failed dashboard sign-ins for one address after which it is refused (429) for the rest of `dashboardLoginWindowMs`; a client IP may fail four times as often. Counted per process.' },
  { key: 'dashboardLoginWindowMs', kind: 'integer', default: 15 * MINUTE, min: 1000, max: 24 * HOUR, doc: 'Window failed dashboard sign-ins are counted in, and how long a lockout lasts at most, ms.' },
];

/** `smtpRelayTlsVerify` → `HERALD_SMTP_RELAY_TLS_VERIFY`. */
export function envName(key: string): string {
  return 'HERALD_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** `smtpRelayTlsVerify` → `--smtp-relay-tls-verify`. */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function defaultConfig(): HeraldConfig {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as HeraldConfig;
}
