import { DeliveryError } from '../delivery-error.js';
import type { SmtpConnectionOptions } from './smtp-connection.js';
import { DestinationPool, type DestinationLimits } from './destination-pool.js';
import { checkEnvelope } from './smtp-envelope.js';
import type { SmtpMessage, SmtpSendResult } from './smtp-transaction.js';

/** Where a message goes: one SMTP server. */
export interface SmtpDestination {
  host: string;
  port: number;
  /**
   * Connections are pooled per key (default `host:port`). Direct MX delivery keys them by
   * destination and host, so each destination's connection limit holds on its own.
   */
  key?: string;
  /** Limits for this key's connections, over the pool's defaults; read when its first send opens it. */
  limits?: Partial<DestinationLimits>;
  /** SNI and certificate name when `host` is an address (the MX host's name). */
  servername?: string;
}

export interface SmtpPoolOptions extends Partial<DestinationLimits> {
  /** How every connection is opened: EHLO name, TLS, AUTH, timeouts. Host and port come per send. */
  connection: Omit<SmtpConnectionOptions, 'host' | 'port'>;
}

const DEFAULTS: DestinationLimits = {
  maxConnections: 5,
  maxMessagesPerConnection: 1000,
  idleTimeoutMs: 30 * 1000, // ms; well under the 5 minutes a server waits for a command (§4.5.3.2.7)
  maxQueued: 10_000,
  reconnectDelayMs: 1000, // ms
};

/**
 * SMTP connections kept open and reused, per destination (host:port): up to `maxConnections` each,
 * every connection carrying one transaction at a time. Sends wait in a bounded queue when every
 * connection is busy; past `maxQueued` they fail at once with a `DeliveryError` ("pool queue full",
 * no reply code, so deferred).
 */
export class SmtpPool {
  private readonly destinations = new Map<string, DestinationPool>();
  private readonly limits: DestinationLimits;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: SmtpPoolOptions) {
    this.limits = {
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxMessagesPerConnection: options.maxMessagesPerConnection ?? DEFAULTS.maxMessagesPerConnection,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      maxQueued: options.maxQueued ?? DEFAULTS.maxQueued,
      reconnectDelayMs: options.reconnectDelayMs ?? DEFAULTS.reconnectDelayMs,
    };
    if (!Number.isInteger(this.limits.maxConnections) || this.limits.maxConnections < 1) {
      throw new RangeError(`SmtpPool: maxConnections must be a positive integer, got ${this.limits.maxConnections}`);
    }
  }

  /** Sends one message to `destination` on a pooled connection. Rejects with a `DeliveryError`. */
  send(destination: SmtpDestination, message: SmtpMessage): Promise<SmtpSendResult> {
    try {
      // Refused before it waits for a connection: a bad address never reaches a socket.
      checkEnvelope(message, destination.host);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing) {
      return Promise.reject(new DeliveryError('SMTP pool is closed', { replyCode: null, response: 'SMTP pool closed: Herald is shutting down', mxServer: destination.host }));
    }
    const key = destination.key ?? `${destination.host}:${destination.port}`;
    let pool = this.destinations.get(key);
    if (pool === undefined) {
      const connection = { ...this.options.connection, host: destination.host, port: destination.port, ...(destination.servername ? { servername: destination.servername } : {}) };
      pool = new DestinationPool(connection, { ...this.limits, ...destination.limits }, () => {
        if (this.destinations.get(key) === pool) this.destinations.delete(key);
      });
      this.destinations.set(key, pool);
    } else if (destination.limits) {
      pool.setLimits(destination.limits);
    }
    return pool.send(message);
  }

  /** Connections open or opening, over all destinations. */
  get connections(): number {
    let total = 0;
    for (const pool of this.destinations.values()) total += pool.size;
    return total;
  }

  /**
   * Refuses new sends, lets queued and running ones finish for up to `graceMs`, then ends whatever
   * is left (their sends reject, so they defer) and says QUIT on every idle connection.
   */
  close(graceMs = 5 * 1000): Promise<void> {
    this.closing ??= Promise.all([...this.destinations.values()].map((pool) => pool.close(graceMs))).then(() => undefined);
    return this.closing;
  }
}
