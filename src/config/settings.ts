import { hostname } from 'node:os';

/**
 * Every setting Herald reads, with its default and unit. One table drives the defaults, the
 * environment (`HERALD_` + the key in SNAKE_CASE), the CLI flags (`--` + kebab-case), the checks at
 * start-up and `docs/config.md` (a test keeps the doc in step).
 */
export interface HeraldConfig {
  /** Interface the HTTP API listens on. */
  host: string;
  /** Port of the HTTP API. */
  port: number;
  /** Folder for the SQLite database and the lock file. */
  dataDir: string;
  /** Smarthost URL (smtp:// or smtps://, user:pass optional); null delivers into the local capture inbox. */
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
  /** Name announced in EHLO and used on the right of generated Message-IDs. */
  hostname: string;
  /** Most messages being delivered at once by this process. */
  deliveryConcurrency: number;
  /** How long a claimed message stays leased to its worker before another may claim it, ms. */
  deliveryLeaseMs: number;
  /** How often an idle worker looks for scheduled or retried messages, ms. */
  deliveryPollMs: number;
  /** First retry delay after a deferral, ms; each further one doubles, with jitter. */
  retryBaseMs: number;
  /** Longest delay between two attempts, ms. */
  retryMaxMs: number;
  /** A message not delivered after this long bounces as expired, ms (72 h, as SendGrid). */
  messageMaxAgeMs: number;
  /** Largest accepted HTTP request body, bytes (SendGrid's limit is 30 MB). */
  maxRequestBytes: number;
  /** pino log level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: string;
  /** Time SIGTERM allows in-flight deliveries to finish before their leases are released, ms. */
  shutdownGraceMs: number;
  /** 32-byte key (base64 or hex) sealing DKIM private keys at rest with AES-256-GCM; null stores them as plain PEM. */
  dkimKeyEncryptionKey: string | null;
  /** DNS servers (`host` or `host:port`, comma-separated) that sending-domain checks ask; null uses the system's. */
  dnsCheckServers: string | null;
  /** Domain the suggested SPF record includes (`include:<this>`); null suggests none. */
  spfInclude: string | null;
  /** IP addresses mail leaves from (comma-separated), listed as ip4:/ip6: in the suggested SPF record; null lists none. */
  sendingIps: string | null;
  /** Address DMARC aggregate reports go to in the suggested record; null suggests `dmarc-reports@<domain>`. */
  dmarcRua: string | null;
}

type Kind = 'string' | 'nullable-string' | 'integer' | 'boolean' | 'enum';

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
const HOUR = 60 * MINUTE;

export const SETTINGS: readonly Setting[] = [
  { key: 'host', kind: 'string', default: '127.0.0.1', doc: 'Interface the HTTP API listens on.' },
  { key: 'port', kind: 'integer', default: 3025, min: 0, max: 65535, doc: 'Port of the HTTP API.' },
  { key: 'dataDir', kind: 'string', default: './data', doc: 'Folder for the SQLite database and the lock file.' },
  {
    key: 'smtpRelay',
    kind: 'nullable-string',
    default: null,
    doc: 'Smarthost URL, `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...` (TLS from the start). Unset: messages go to the local capture inbox.',
  },
  { key: 'smtpRelayTlsVerify', kind: 'boolean', default: true, doc: "Verify the relay's TLS certificate." },
  { key: 'smtpPoolSize', kind: 'integer', default: 8, min: 1, max: 1000, doc: 'Most SMTP connections open to the relay at once.' },
  { key: 'smtpConnectTimeoutMs', kind: 'integer', default: 30 * 1000, min: 100, max: 10 * MINUTE, doc: 'Time to open a TCP connection to an SMTP server, ms.' },
  { key: 'smtpGreetingTimeoutMs', kind: 'integer', default: 5 * MINUTE, min: 100, max: 30 * MINUTE, doc: 'Time to wait for the SMTP greeting, ms (RFC 5321 §4.5.3.2.1: 5 minutes).' },
  { key: 'smtpSocketTimeoutMs', kind: 'integer', default: 10 * MINUTE, min: 100, max: 60 * MINUTE, doc: 'Idle time on an SMTP socket before giving up, ms (RFC 5321 §4.5.3.2.6: 10 minutes after DATA).' },
  { key: 'hostname', kind: 'string', default: hostname(), doc: 'Name announced in EHLO and used in generated Message-IDs. Default: the machine name.' },
  { key: 'deliveryConcurrency', kind: 'integer', default: 64, min: 1, max: 10000, doc: 'Most messages being delivered at once by this process.' },
  { key: 'deliveryLeaseMs', kind: 'integer', default: 2 * MINUTE, min: 1000, max: HOUR, doc: 'How long a claimed message stays leased to its worker before another may claim it, ms. Workers renew leases of slow deliveries.' },
  { key: 'deliveryPollMs', kind: 'integer', default: 1000, min: 10, max: MINUTE, doc: 'How often an idle worker looks for scheduled or retried messages, ms.' },
  { key: 'retryBaseMs', kind: 'integer', default: MINUTE, min: 10, max: 24 * HOUR, doc: 'First retry delay after a deferral, ms; each further one doubles, with ±20% jitter.' },
  { key: 'retryMaxMs', kind: 'integer', default: HOUR, min: 10, max: 24 * HOUR, doc: 'Longest delay between two attempts, ms.' },
  { key: 'messageMaxAgeMs', kind: 'integer', default: 72 * HOUR, min: 1000, max: 30 * 24 * HOUR, doc: 'A message still undelivered this long after it was accepted bounces as expired, ms (72 h, as SendGrid).' },
  { key: 'maxRequestBytes', kind: 'integer', default: 30 * 1024 * 1024, min: 1024, max: 100 * 1024 * 1024, doc: 'Largest accepted HTTP request body, bytes (SendGrid: 30 MB).' },
  { key: 'logLevel', kind: 'enum', default: 'info', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], doc: 'Log level.' },
  { key: 'shutdownGraceMs', kind: 'integer', default: 10 * 1000, min: 0, max: 10 * MINUTE, doc: 'Time SIGTERM gives in-flight deliveries to finish before their leases are released, ms.' },
  {
    key: 'dkimKeyEncryptionKey',
    kind: 'nullable-string',
    default: null,
    doc: 'Key sealing DKIM private keys at rest (AES-256-GCM): 32 bytes as base64 or hex, e.g. from `openssl rand -base64 32`. Unset: keys are stored as plain PEM in the database. Keys sealed with it need it to sign; never change it while domains exist.',
  },
  { key: 'dnsCheckServers', kind: 'nullable-string', default: null, doc: 'DNS servers sending-domain checks ask, `host` or `host:port`, comma-separated. Unset: the system resolvers.' },
  { key: 'spfInclude', kind: 'nullable-string', default: null, doc: 'Domain the suggested SPF record includes (`include:<domain>`), e.g. your relay provider\'s. Unset: none.' },
  { key: 'sendingIps', kind: 'nullable-string', default: null, doc: 'IP addresses mail leaves from, comma-separated, listed as `ip4:`/`ip6:` in the suggested SPF record. Unset: none (the record then suggests `mx`).' },
  { key: 'dmarcRua', kind: 'nullable-string', default: null, doc: 'Address DMARC aggregate reports go to in the suggested `_dmarc` record. Unset: `dmarc-reports@<domain>`.' },
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
