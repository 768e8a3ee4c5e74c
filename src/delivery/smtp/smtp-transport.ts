import type { HeraldConfig } from '../../config/settings.js';
import type { OutgoingMessage, SendResult, Transport } from '../transport.js';
import { SmtpPool, type SmtpDestination } from './smtp-pool.js';
import { timeoutsFromSettings } from './smtp-timeouts.js';

/** The settings the relay transport reads: the smtpRelay* and smtp* settings. */
export type SmtpTransportConfig = Pick<
  HeraldConfig,
  | 'smtpRelay'
  | 'smtpRelayTlsVerify'
  | 'smtpPoolSize'
  | 'smtpConnectTimeoutMs'
  | 'smtpGreetingTimeoutMs'
  | 'smtpSocketTimeoutMs'
  | 'hostname'
  | 'deliveryConcurrency'
>;

export interface SmtpTransportOptions {
  /** On `close()`, how long sends already running may finish before their connections are cut, ms. @defaultValue 1 s */
  closeGraceMs?: number;
}

const MIN_QUEUE = 10_000; // sends; never less room than the pool's own default

/**
 * Delivers through a smarthost with Herald's pipelining SMTP client (`SmtpPool`): up to
 * `smtpPoolSize` reused connections, STARTTLS whenever the relay offers it (verified unless
 * `smtpRelayTlsVerify` is off), AUTH PLAIN or LOGIN when the URL carries credentials, and never
 * without TLS.
 */
export class SmtpTransport implements Transport {
  readonly name = 'relay';
  private readonly pool: SmtpPool;
  private readonly destination: SmtpDestination;
  private readonly closeGraceMs: number;

  constructor(config: SmtpTransportConfig, options: SmtpTransportOptions = {}) {
    if (!config.smtpRelay) throw new Error('SmtpTransport: smtpRelay is not set');
    const url = new URL(config.smtpRelay);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      throw new Error(`SmtpTransport: smtpRelay must be an smtp:// or smtps:// URL, got ${url.protocol}//`);
    }
    const secure = url.protocol === 'smtps:';
    // WHATWG URL keeps the brackets of an IPv6 literal; sockets want the bare address.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.destination = { host, port: url.port ? Number(url.port) : secure ? 465 : 587 };
    this.closeGraceMs = options.closeGraceMs ?? 1000;
    const timeouts = timeoutsFromSettings(config);
    this.pool = new SmtpPool({
      maxConnections: config.smtpPoolSize,
      // Every message the worker holds may wait here; the worker's concurrency is the real bound.
      maxQueued: Math.max(MIN_QUEUE, config.deliveryConcurrency),
      connection: {
        name: config.hostname,
        secure,
        tls: 'opportunistic',
        rejectUnauthorized: config.smtpRelayTlsVerify,
        auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
        timeouts,
      },
    });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const result = await this.pool.send(this.destination, {
      from: message.envelope.from,
      to: [message.envelope.to],
      raw: message.raw,
    });
    return { response: result.response, mxServer: this.destination.host };
  }

  close(): Promise<void> {
    return this.pool.close(this.closeGraceMs);
  }
}
