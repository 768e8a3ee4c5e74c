import type { HeraldConfig } from '../../config/settings.js';
import { destinationOf } from '../../queue/destination.js';
import { DeliveryError } from '../delivery-error.js';
import { isSessionFailure } from '../classify-reply.js';
import type { DestinationShaper } from '../destination-shaper.js';
import type { OutgoingMessage, SendResult, Transport } from '../transport.js';
import { SmtpPool } from '../smtp/smtp-pool.js';
import { timeoutsFromSettings } from '../smtp/smtp-timeouts.js';
import { parseServer } from './dns-client.js';
import { MxResolver } from './mx-resolver.js';

/** The settings direct MX delivery reads. */
export type MxTransportConfig = Pick<
  HeraldConfig,
  | 'hostname'
  | 'smtpPort'
  | 'smtpIpv6'
  | 'smtpPreferIpv6'
  | 'smtpConnectTimeoutMs'
  | 'smtpGreetingTimeoutMs'
  | 'smtpSocketTimeoutMs'
  | 'dnsServers'
  | 'dnsTimeoutMs'
  | 'dnsRetries'
  | 'dnsMinTtlS'
  | 'dnsMaxTtlS'
  | 'dnsNegativeTtlS'
  | 'dnsCacheSize'
  | 'mxMaxHosts'
  | 'mxOverrides'
  | 'deliveryConcurrency'
>;

export interface MxTransportOptions {
  /** On `close()`, how long running sends may finish before their connections are cut, ms. @defaultValue 1 s */
  closeGraceMs?: number;
}

/**
 * Delivers straight to each recipient domain's mail servers (RFC 5321 §5): looks the domain up
 * (MX by preference, the domain's own address without MX, null MX and non-existent domains as
 * bounces), then tries its hosts and their addresses in order until one takes the transaction.
 * Only a failure before the transaction (connect, greeting, EHLO, STARTTLS) moves on to the next
 * address; a server's reply to the transaction itself is the outcome. Connections are pooled per
 * destination and host with the destination's limits, and use STARTTLS whenever offered, without
 * certificate checks (as Postfix's `smtp_tls_security_level = may`, RFC 7435).
 */
export class MxTransport implements Transport {
  readonly name = 'mx';
  readonly resolver: MxResolver;
  private readonly pool: SmtpPool;
  private readonly closeGraceMs: number;

  constructor(
    config: MxTransportConfig,
    private readonly shaper: DestinationShaper,
    options: MxTransportOptions = {},
  ) {
    this.resolver = new MxResolver({
      servers: config.dnsServers ? config.dnsServers.split(',').map((s) => parseServer(s.trim())) : undefined,
      timeoutMs: config.dnsTimeoutMs,
      retries: config.dnsRetries,
      minTtlS: config.dnsMinTtlS,
      maxTtlS: Math.max(config.dnsMinTtlS, config.dnsMaxTtlS),
      negativeTtlS: config.dnsNegativeTtlS,
      ipv6: config.smtpIpv6,
      preferIpv6: config.smtpPreferIpv6,
      smtpPort: config.smtpPort,
      mxOverrides: config.mxOverrides,
      maxHosts: config.mxMaxHosts,
      cacheSize: config.dnsCacheSize,
    });
    this.closeGraceMs = options.closeGraceMs ?? 1000;
    const timeouts = timeoutsFromSettings(config);
    this.pool = new SmtpPool({
      // Every message the worker holds may wait for a connection; its concurrency is the real bound.
      maxQueued: Math.max(10_000, config.deliveryConcurrency),
      connection: { name: config.hostname, tls: 'opportunistic', rejectUnauthorized: false, timeouts },
    });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const domain = destinationOf(message.envelope.to);
    const found = await this.resolver.resolveDestination(domain);
    if (found.kind === 'null-mx') {
      // RFC 7505 §4.2: 556 with 5.1.10.
      throw new DeliveryError(found.reason, { replyCode: 556, response: `556 ${found.status} ${found.reason}`, mxServer: null });
    }
    if (found.kind === 'no-domain') {
      throw new DeliveryError(found.reason, { replyCode: 550, response: `550 ${found.status} ${found.reason}`, mxServer: null });
    }
    const shape = this.shaper.shapeOf(domain);
    const limits = { maxConnections: shape.maxConnections, maxMessagesPerConnection: shape.maxMessagesPerConnection };
    let last: unknown = null;
    for (const host of found.hosts) {
      for (const address of host.addresses) {
        try {
          const result = await this.pool.send(
            { host: address, port: host.port, key: `${domain} ${address}:${host.port}`, limits, servername: host.exchange },
            { from: message.envelope.from, to: [message.envelope.to], raw: message.raw },
          );
          return { response: result.response, mxServer: host.exchange };
        } catch (error) {
          // A refused, unreachable or unwilling server never saw the transaction: try the next one.
          if (!isSessionFailure(error)) throw withServer(error, host.exchange);
          last = error;
        }
      }
    }
    throw withServer(last, found.hosts.at(-1)?.exchange ?? domain);
  }

  close(): Promise<void> {
    return this.pool.close(this.closeGraceMs);
  }
}

/** Reports the MX host's name rather than the address the pool connected to. */
function withServer(error: unknown, exchange: string): unknown {
  if (!(error instanceof DeliveryError)) return error;
  return new DeliveryError(error.message, { replyCode: error.replyCode, response: error.response, command: error.command, mxServer: exchange, cause: error });
}
