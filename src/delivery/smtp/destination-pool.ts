import { setMaxListeners } from 'node:events';
import { DeliveryError } from '../delivery-error.js';
import { SmtpConnection, wasNotSent, type SmtpConnectionOptions } from './smtp-connection.js';
import type { SmtpMessage, SmtpSendResult } from './smtp-transaction.js';

export interface DestinationLimits {
  /** Most connections open (or opening) to one destination. @defaultValue 5 */
  maxConnections: number;
  /** Transactions on one connection before it says QUIT and a fresh one takes over. @defaultValue 1000 */
  maxMessagesPerConnection: number;
  /** An idle connection is closed after this long, ms. @defaultValue 30 s */
  idleTimeoutMs: number;
  /** Sends waiting for a connection, past which a send fails at once ("pool queue full"). @defaultValue 10 000 */
  maxQueued: number;
  /** After a failed connect while other connections work, wait this long before opening another, ms. @defaultValue 1 s */
  reconnectDelayMs: number;
}

interface Waiter {
  message: SmtpMessage;
  resolve: (result: SmtpSendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The connections to one host:port. Idle connections are reused most-recent first, so under light
 * load the surplus ones reach their idle timeout and close; a busy connection with PIPELINING takes
 * a second send, which it writes right after the first one's data (`SmtpConnection.depth`). When a
 * connect fails and no other connection is alive, every waiting send fails with that error: the
 * destination is down.
 */
export class DestinationPool {
  private readonly all = new Set<SmtpConnection>();
  private readonly idle: SmtpConnection[] = [];
  /** Busy connections that can take one more send. */
  private readonly spare = new Set<SmtpConnection>();
  private readonly idleSince = new Map<SmtpConnection, number>();
  private readonly sends = new Map<SmtpConnection, number>();
  /** Per connection, in [0, 1): how far below `maxMessagesPerConnection` it may stop (see `usedUp`). */
  private readonly early = new Map<SmtpConnection, number>();
  private queue: Waiter[] = [];
  private head = 0;
  private opening = 0;
  private busy = 0;
  private noOpenBefore = 0;
  private reopenTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private drained: (() => void) | null = null;
  private readonly aborter = new AbortController();

  constructor(
    private readonly options: SmtpConnectionOptions,
    private limits: DestinationLimits,
    private readonly onEmpty: () => void,
  ) {
    // Every connection being opened listens on this signal until it is open: as many listeners
    // as `maxConnections` allows, which may be far above Node's warning threshold of 10.
    setMaxListeners(0, this.aborter.signal);
  }

  /** Connections open or opening. */
  get size(): number {
    return this.all.size + this.opening;
  }

  private get queued(): number {
    return this.queue.length - this.head;
  }

  /** New limits for this destination (live configuration, or the cluster's share changing); open connections above a lower limit finish their work and are not replaced. */
  setLimits(limits: Partial<DestinationLimits>): void {
    if (limits.maxConnections === this.limits.maxConnections && limits.maxMessagesPerConnection === this.limits.maxMessagesPerConnection) return;
    this.limits = { ...this.limits, ...limits };
  }

  send(message: SmtpMessage): Promise<SmtpSendResult> {
    if (this.closed) return Promise.reject(this.error('SMTP pool closed: Herald is shutting down'));
    if (this.queued >= this.limits.maxQueued) {
      return Promise.reject(this.error(`pool queue full: ${this.queued} messages already wait for a connection to ${this.where}`));
    }
    return new Promise<SmtpSendResult>((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.dispatch();
    });
  }

  /** Lets queued and running sends finish for up to `graceMs`, then ends everything. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    if (this.busy > 0 || this.queued > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    }
    this.drained = null;
    for (const waiter of this.takeQueue()) waiter.reject(this.error('SMTP pool closed before a connection was free: Herald is shutting down'));
    this.aborter.abort();
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    await Promise.all([...this.all].map((conn) => conn.quit()));
  }

  private dispatch(): void {
    while (this.queued > 0) {
      const conn = this.idle.pop() ?? first(this.spare);
      if (conn === undefined) break;
      this.run(conn, this.shift());
    }
    if (this.queued === 0) return;
    const wanted = Math.min(this.queued - this.opening, this.limits.maxConnections - this.all.size - this.opening);
    if (wanted <= 0) return;
    const wait = this.noOpenBefore - Date.now();
    if (wait > 0) {
      this.reopenTimer ??= setTimeout(() => {
        this.reopenTimer = null;
        this.dispatch();
      }, wait);
      return;
    }
    for (let i = 0; i < wanted; i++) this.openOne();
  }

  private openOne(): void {
    this.opening++;
    SmtpConnection.open(this.options, this.aborter.signal).then(
      (conn) => {
        this.opening--;
        this.all.add(conn);
        this.sends.set(conn, 0);
        this.early.set(conn, Math.random());
        conn.onClose((c) => this.forget(c));
        this.release(conn);
      },
      (error: unknown) => {
        this.opening--;
        if (this.all.size === 0 && this.opening === 0) {
          // Nothing alive to serve the queue: the destination is down, every waiting send learns why.
          for (const waiter of this.takeQueue()) waiter.reject(error);
        } else {
          this.noOpenBefore = Date.now() + this.limits.reconnectDelayMs;
        }
        this.dispatch();
        this.settle();
      },
    );
  }

  private run(conn: SmtpConnection, waiter: Waiter): void {
    this.busy++;
    this.sends.set(conn, (this.sends.get(conn) ?? 0) + 1);
    const sending = conn.send(waiter.message);
    this.place(conn);
    sending.then(
      (result) => {
        waiter.resolve(result);
        this.busy--;
        this.release(conn);
      },
      (error: unknown) => {
        this.busy--;
        // Nothing of it reached the wire: it goes back to the front of the queue for another connection.
        if (wasNotSent(error) && !this.closed) this.requeue(waiter);
        else waiter.reject(error);
        this.release(conn);
      },
    );
  }

  /** A connection done with a send (or just opened): more work, idle, or QUIT when used up. */
  private release(conn: SmtpConnection): void {
    // A closed connection was forgotten by its onClose; the queue may need a new one.
    if (conn.open) {
      this.place(conn);
      const finished = this.usedUp(conn) || (this.closed && this.queued === 0);
      if (finished && conn.load === 0) this.retire(conn);
    }
    this.dispatch();
    this.settle();
  }

  /**
   * A connection has carried its share: `maxMessagesPerConnection` at most, and from up to half of
   * it less (at random) when no other connection of the destination is being opened. Connections
   * opened together would otherwise all be used up together, and their replacements wait for a
   * greeting at the same moment (smtp-server and postscreen hold it back on purpose), leaving the
   * destination without a connection meanwhile; one at a time, the others carry on.
   */
  private usedUp(conn: SmtpConnection): boolean {
    const sent = this.sends.get(conn) ?? 0;
    const max = this.limits.maxMessagesPerConnection;
    if (sent >= max) return true;
    return this.opening === 0 && sent >= max - Math.floor((this.early.get(conn) ?? 0) * Math.floor(max / 2));
  }

  /** Files a connection under idle or spare (or neither) after its load changed. */
  private place(conn: SmtpConnection): void {
    const at = this.idle.indexOf(conn);
    if (at !== -1) this.idle.splice(at, 1);
    this.spare.delete(conn);
    this.idleSince.delete(conn);
    if (!conn.open || !this.all.has(conn) || this.usedUp(conn)) return;
    if (conn.load === 0) {
      this.idle.push(conn);
      this.idleSince.set(conn, Date.now());
      this.sweepTimer ??= setTimeout(() => this.sweep(), this.limits.idleTimeoutMs).unref();
    } else if (conn.load < conn.depth) {
      this.spare.add(conn);
    }
  }

  /** Closes connections idle for `idleTimeoutMs`; one timer per destination, not one per connection. */
  private sweep(): void {
    this.sweepTimer = null;
    const now = Date.now();
    let oldest = Infinity;
    for (const conn of [...this.idle]) {
      const since = this.idleSince.get(conn) ?? now;
      if (now - since >= this.limits.idleTimeoutMs) this.retire(conn);
      else oldest = Math.min(oldest, since);
    }
    if (oldest !== Infinity) this.sweepTimer = setTimeout(() => this.sweep(), oldest + this.limits.idleTimeoutMs - now).unref();
    this.settle();
  }

  private retire(conn: SmtpConnection): void {
    this.forget(conn);
    void conn.quit();
  }

  private forget(conn: SmtpConnection): void {
    if (!this.all.delete(conn)) return;
    this.sends.delete(conn);
    this.early.delete(conn);
    this.idleSince.delete(conn);
    this.spare.delete(conn);
    const at = this.idle.indexOf(conn);
    if (at !== -1) this.idle.splice(at, 1);
    // A connection that closed while others wait may need replacing.
    if (this.queued > 0) queueMicrotask(() => this.dispatch());
    this.settle();
  }

  /** Tells `close` when the work is done, and the parent pool when this destination holds nothing. */
  private settle(): void {
    if (this.busy === 0 && this.queued === 0) this.drained?.();
    if (this.all.size === 0 && this.opening === 0 && this.queued === 0 && this.busy === 0 && !this.closed) {
      if (this.sweepTimer) clearTimeout(this.sweepTimer);
      if (this.reopenTimer) clearTimeout(this.reopenTimer);
      this.sweepTimer = null;
      this.reopenTimer = null;
      this.onEmpty();
    }
  }

  private shift(): Waiter {
    const waiter = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as Waiter;
    this.head++;
    // Compact now and then so a long-lived queue does not keep every served waiter.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }

  private requeue(waiter: Waiter): void {
    if (this.head > 0) this.queue[--this.head] = waiter;
    else this.queue.unshift(waiter);
    queueMicrotask(() => this.dispatch());
  }

  private takeQueue(): Waiter[] {
    const waiting = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return waiting;
  }

  private get where(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private error(response: string): DeliveryError {
    return new DeliveryError(response, { replyCode: null, response, mxServer: this.options.host });
  }
}

function first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}
