import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { SmtpChannel } from './smtp-channel.js';
import { connectionError, SmtpTimeoutError } from './smtp-errors.js';
import { SmtpProtocolError, SmtpReplyReader, type SmtpReply } from './smtp-reply-reader.js';

type Socket = net.Socket | tls.TLSSocket;

export interface SmtpWireOptions {
  host: string;
  port: number;
  localAddress?: string;
  /** TLS from the first byte (smtps). */
  secure: boolean;
  servername: string | undefined;
  rejectUnauthorized: boolean;
  /** Tells the wire when no command is out, so a reply that arrives then is the server leaving. */
  isIdle: () => boolean;
}

const DATA_BLOCK = 64 * 1024; // bytes; the unit the data-block timeout (§4.5.3.2.5) applies to
const MAX_UNREAD = 1000; // replies; above the most a pipelined group can ask for (MAIL, 998 RCPT, DATA)

/**
 * The socket under an SMTP session: writes commands and data, reads replies within time limits,
 * upgrades to TLS. Every failure (socket error, close, timeout, garbage) goes through `fail`,
 * which destroys the socket, rejects whatever waits and tells the `onClose` listeners; a wire is
 * never reused after that.
 */
export class SmtpWire implements SmtpChannel {
  readonly mxServer: string;
  private socket: Socket;
  private readonly reader = new SmtpReplyReader();
  private failure: Error | undefined;
  /** The read waiting for a reply, if any; `readSeq` tells a stale completion from the current one. */
  private reading: { deadline: number; command: string; timeoutMs: number } | null = null;
  private readSeq = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private watchdogAt = 0;
  private readonly waiters = new Set<(err: Error) => void>();
  private readonly closeListeners: Array<() => void> = [];

  constructor(private readonly options: SmtpWireOptions) {
    this.mxServer = options.host;
    const plain = net.connect({ host: options.host, port: options.port, localAddress: options.localAddress });
    // Implicit TLS over our own TCP socket: tls.connect's types do not take a local address.
    this.socket = options.secure ? this.tlsOver(plain) : plain;
    this.attach(this.socket);
    if (this.socket !== plain) plain.on('error', this.onError);
  }

  /** Why the wire failed, once it has. */
  get failed(): Error | undefined {
    return this.failure;
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted === true;
  }

  /** Runs `listener` once, when the wire fails or closes for any reason. */
  onClose(listener: () => void): void {
    if (this.failure) listener();
    else this.closeListeners.push(listener);
  }

  /** Resolves once TCP (and, for smtps, TLS) is up. */
  async connected(timeoutMs: number): Promise<void> {
    await this.waitFor(this.options.secure ? 'secureConnect' : 'connect', 'CONN', timeoutMs);
    this.socket.setNoDelay(true); // Nagle would hold each pipelined group for the previous ACK.
  }

  write(lines: string): void {
    if (this.failure) return; // the next read reports the failure
    this.socket.write(lines);
  }

  /**
   * The next reply, within `timeoutMs`. Reads never overlap on a session (each waits for the one
   * before), so one lazily re-armed watchdog timer serves them all: a read only records its
   * deadline, instead of arming and clearing a timer of its own for every reply.
   */
  read(command: string, timeoutMs: number): Promise<SmtpReply> {
    const seq = ++this.readSeq;
    const deadline = performance.now() + timeoutMs;
    this.reading = { deadline, command, timeoutMs };
    if (this.watchdog === null || deadline < this.watchdogAt) this.armWatchdog(deadline);
    return this.reader.next().then(
      (reply) => {
        if (this.readSeq === seq) this.reading = null;
        return reply;
      },
      (error: unknown) => {
        if (this.readSeq === seq) this.reading = null;
        throw connectionError(error, command, this.mxServer);
      },
    );
  }

  async writeData(slices: readonly Buffer[], blockTimeoutMs: number): Promise<void> {
    if (this.failure) throw connectionError(this.failure, 'DATA', this.mxServer);
    const socket = this.socket;
    // Corked until the end of this tick, so a small message, its terminator and the next
    // transaction's commands (written in the same tick, see SmtpConnection.depth) leave together.
    socket.cork();
    for (const slice of slices) {
      for (let at = 0; at < slice.length; at += DATA_BLOCK) {
        const block = at === 0 && slice.length <= DATA_BLOCK ? slice : slice.subarray(at, at + DATA_BLOCK);
        if (!socket.write(block)) {
          socket.uncork();
          await this.waitFor('drain', 'DATA', blockTimeoutMs);
          socket.cork();
        }
      }
    }
    process.nextTick(uncork, socket);
  }

  abandon(reason: Error): void {
    this.fail(reason);
  }

  /**
   * STARTTLS's second half (RFC 3207 §4), once the server said 220: the handshake on this socket.
   * Bytes that came after the 220 fail the wire with a protocol error before any handshake (RFC
   * 3207 §5, CVE-2011-0411: they were not encrypted, so they must not be taken as replies).
   */
  async upgrade(timeoutMs: number): Promise<void> {
    if (this.reader.holdsPartial || this.reader.unread > 0) {
      const error = new SmtpProtocolError('data after the 220 to STARTTLS, before the TLS handshake');
      this.fail(error);
      throw connectionError(error, 'STARTTLS', this.mxServer);
    }
    const plain = this.socket;
    this.detach(plain);
    plain.on('error', () => {}); // its errors arrive through the TLS socket
    this.socket = this.tlsOver(plain);
    this.attach(this.socket);
    await this.waitFor('secureConnect', 'STARTTLS', timeoutMs);
  }

  /** A reply while no command is out is the server leaving (a 421 on its idle timeout, §3.8). */
  checkIdle(): void {
    if (!this.failure && this.options.isIdle() && (this.reader.unread > 0 || this.reader.failed)) {
      this.fail(this.reader.failed ?? new Error(`${this.mxServer} sent a reply while no command was pending; closing`));
    }
  }

  /** The one way a wire ends: record why, fail every waiter, destroy the socket, tell listeners. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.reader.fail(error);
    for (const settle of [...this.waiters]) settle(error);
    this.socket.destroy();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  private tlsOver(socket: net.Socket): tls.TLSSocket {
    return tls.connect({ socket, servername: this.options.servername, rejectUnauthorized: this.options.rejectUnauthorized });
  }

  private armWatchdog(at: number): void {
    if (this.watchdog !== null) clearTimeout(this.watchdog);
    this.watchdogAt = at;
    this.watchdog = setTimeout(this.onWatchdog, Math.max(0, at - performance.now()));
    // The socket keeps the process alive while a reply is due; the timer alone must not.
    this.watchdog.unref();
  }

  private readonly onWatchdog = (): void => {
    this.watchdog = null;
    const reading = this.reading;
    if (reading === null || this.failure) return;
    if (performance.now() >= reading.deadline) {
      this.fail(new SmtpTimeoutError(`no reply to ${reading.command} from ${this.mxServer} within ${reading.timeoutMs} ms`));
    } else {
      this.armWatchdog(reading.deadline);
    }
  };

  /** Resolves on `event` from the socket; rejects when the wire fails or `timeoutMs` passes. */
  private waitFor(event: 'connect' | 'secureConnect' | 'drain', command: string, timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(connectionError(this.failure, command, this.mxServer));
    const socket = this.socket;
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        socket.off(event, onEvent);
        this.waiters.delete(settle);
        if (error) reject(connectionError(error, command, this.mxServer));
        else resolve();
      };
      const onEvent = (): void => settle();
      const what = event === 'drain' ? 'the server to take a block of message data' : `${command} to ${this.mxServer}`;
      const timer = setTimeout(() => this.fail(new SmtpTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.add(settle);
      socket.once(event, onEvent);
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
    // More replies than commands could ever be out is a server talking to itself: stop buffering it.
    if (this.reader.unread > MAX_UNREAD && !this.failure) {
      this.fail(new SmtpProtocolError(`${this.mxServer} sent more than ${MAX_UNREAD} replies nobody asked for`));
    }
    if (this.reader.failed && !this.failure) this.fail(this.reader.failed);
    else this.checkIdle();
  };

  private readonly onError = (error: Error): void => this.fail(error);

  private readonly onEnd = (): void => this.fail(new Error(`connection closed by ${this.mxServer}`));

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}
