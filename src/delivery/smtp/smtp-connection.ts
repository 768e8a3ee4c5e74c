import net from 'node:net';
import { DeliveryError } from '../delivery-error.js';
import { authenticate, type SmtpCredentials } from './smtp-auth.js';
import { connectionError, replyError } from './smtp-errors.js';
import { NO_EXTENSIONS, parseExtensions, type SmtpExtensions } from './smtp-extensions.js';
import { SmtpProtocolError, type SmtpReply } from './smtp-reply-reader.js';
import { resolveTimeouts, type SmtpTimeouts } from './smtp-timeouts.js';
import { runTransaction, type SmtpMessage, type SmtpSendResult } from './smtp-transaction.js';
import { SmtpWire } from './smtp-wire.js';

export type TlsPolicy = 'required' | 'opportunistic' | 'never';

export interface SmtpConnectionOptions {
  host: string;
  port: number;
  /** Local address to connect from (a sending IP). @defaultValue chosen by the OS */
  localAddress?: string;
  /** Name announced in EHLO/HELO (RFC 5321 §4.1.1.1: the client's FQDN). */
  name: string;
  /** TLS from the first byte (smtps, RFC 8314 §3.3) instead of STARTTLS. @defaultValue false */
  secure?: boolean;
  /**
   * STARTTLS (RFC 3207): `opportunistic` uses it when offered, `required` fails without it,
   * `never` stays in clear. @defaultValue 'opportunistic'
   */
  tls?: TlsPolicy;
  /**
   * Verify the server's certificate. When false and the handshake fails anyway, an opportunistic
   * session is retried once in clear, as Postfix does at `smtp_tls_security_level = may` (RFC 7435).
   * @defaultValue true
   */
  rejectUnauthorized?: boolean;
  /** SNI and certificate name. @defaultValue `host`, unless it is an IP address */
  servername?: string;
  /** AUTH with these credentials (RFC 4954) after TLS. @defaultValue none */
  auth?: SmtpCredentials;
  /** Send credentials over a connection without TLS. @defaultValue false */
  allowInsecureAuth?: boolean;
  /** @defaultValue DEFAULT_TIMEOUTS (RFC 5321 §4.5.3.2) */
  timeouts?: Partial<SmtpTimeouts>;
}


/**
 * One SMTP client session (RFC 5321): connect, greeting, EHLO (HELO as a fallback), STARTTLS,
 * AUTH, then any number of transactions, one at a time, then QUIT. A timed-out or broken
 * connection is destroyed and never used again: `usable` turns false and `onClose` listeners run.
 */
export class SmtpConnection {
  /** Extensions of the last EHLO (after STARTTLS, the second one). */
  extensions: SmtpExtensions = NO_EXTENSIONS;
  /** The greeting line, e.g. "220 mx.example.com ESMTP". */
  greeting = '';
  readonly mxServer: string;
  private readonly timeouts: SmtpTimeouts;
  private readonly wire: SmtpWire;
  /** True during setup and QUIT, when no transaction may start. */
  private busy = true;
  /** Transactions accepted by `send` and not yet settled (running or waiting their turn). */
  private pending = 0;
  /** Resolves when the transaction before the next one has written everything it will write. */
  private turn: Promise<void> = Promise.resolve();
  /** Resolves when the transaction before the next one has read its last reply (or failed). */
  private lastDone: Promise<void> = Promise.resolve();
  private transactions = 0;
  private tlsFailed = false;

  /** Opens a session ready for `send`, or rejects with a `DeliveryError`. */
  static async open(options: SmtpConnectionOptions, signal?: AbortSignal): Promise<SmtpConnection> {
    const conn = new SmtpConnection(options);
    const onAbort = (): void => conn.destroy(new Error(`gave up connecting to ${conn.mxServer}: the pool is closing`));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await conn.setup(options);
      return conn;
    } catch (error) {
      conn.destroy(error instanceof Error ? error : new Error(String(error)));
      const fallback =
        conn.tlsFailed && !signal?.aborted && !options.secure && (options.tls ?? 'opportunistic') === 'opportunistic' && options.rejectUnauthorized === false;
      if (!fallback) throw connectionError(error, null, conn.mxServer);
      return SmtpConnection.open({ ...options, tls: 'never' }, signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private constructor(options: SmtpConnectionOptions) {
    this.mxServer = options.host;
    this.timeouts = resolveTimeouts(options.timeouts);
    const name = options.servername ?? options.host;
    this.wire = new SmtpWire({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      secure: options.secure ?? false,
      // RFC 6066 §3: SNI carries host names only, never an address literal.
      servername: net.isIP(name) === 0 ? name : undefined,
      rejectUnauthorized: options.rejectUnauthorized ?? true,
      isIdle: () => !this.busy && this.pending === 0,
    });
  }

  /** True while the session is open with no transaction running or waiting. */
  get usable(): boolean {
    return this.open && !this.busy && this.pending === 0;
  }

  /**
   * Transactions this connection runs at once: 2 with PIPELINING, where the next transaction's
   * MAIL, RCPT and DATA follow the previous message's data in the same write (RFC 2920 §3.1: "the
   * actual transfer of message content is explicitly allowed to be the first command in a
   * group"), saving a round trip per message; 1 otherwise.
   */
  get depth(): number {
    return this.extensions.pipelining ? 2 : 1;
  }

  /** Transactions running or waiting their turn. */
  get load(): number {
    return this.pending;
  }

  /** False once the connection is closed, broken or closing. */
  get open(): boolean {
    return this.wire.failed === undefined;
  }

  /** Transactions that ended with the server taking the message. */
  get delivered(): number {
    return this.transactions;
  }

  get encrypted(): boolean {
    return this.wire.encrypted;
  }

  /** Runs `listener` once, when the connection closes for any reason. */
  onClose(listener: (conn: SmtpConnection) => void): void {
    this.wire.onClose(() => listener(this));
  }

  /**
   * Sends one message. Resolves when the server took it for at least one recipient; rejects with a
   * `DeliveryError` otherwise. After a refusal the connection stays usable (RSET); after a
   * connection failure, a timeout or a 421 it is closed. With PIPELINING a second send may be
   * made while one runs (see `depth`); it waits its turn.
   */
  async send(message: SmtpMessage): Promise<SmtpSendResult> {
    if (!this.open) throw notSent(connectionError(this.wire.failed, 'MAIL FROM', this.mxServer));
    if (this.busy || this.pending >= this.depth) throw new Error(`SmtpConnection.send: ${this.pending} transactions already running on this connection`);
    this.pending++;
    const previousTurn = this.turn;
    const previousDone = this.lastDone;
    let release!: () => void;
    let done!: () => void;
    this.turn = new Promise<void>((resolve) => (release = resolve));
    this.lastDone = new Promise<void>((resolve) => (done = resolve));
    try {
      await previousTurn;
      // The connection died while this transaction waited its turn: nothing of it was written.
      if (!this.open) throw notSent(connectionError(this.wire.failed, 'MAIL FROM', this.mxServer));
      const result = await runTransaction(this.wire, this.extensions, this.timeouts, message, { previousDone, release });
      this.transactions++;
      return result;
    } finally {
      release();
      done();
      this.pending--;
      if (this.pending === 0) this.wire.checkIdle();
    }
  }

  /** Says QUIT (RFC 5321 §4.1.1.10) and closes; never rejects. */
  async quit(): Promise<void> {
    if (!this.open || this.busy || this.pending > 0) {
      this.destroy(new Error('connection closed by Herald'));
      return;
    }
    this.busy = true;
    try {
      this.wire.write('QUIT\r\n');
      await this.wire.read('QUIT', this.timeouts.quit);
    } catch {
      // Every message is already answered: a server slow to say goodbye is simply cut off.
    }
    this.destroy(new Error('connection closed after QUIT'));
  }

  /** Closes the socket at once; a transaction in progress rejects with `reason`. */
  destroy(reason: Error = new Error('connection closed by Herald')): void {
    this.wire.fail(reason);
  }

  private async setup(options: SmtpConnectionOptions): Promise<void> {
    // Command names as nodemailer's and classify-reply.ts's: CONN, GREETING, EHLO, STARTTLS, AUTH ...
    await this.wire.connected(this.timeouts.connect);
    const greeting = await this.wire.read('GREETING', this.timeouts.greeting);
    this.greeting = `${greeting.code} ${greeting.lines.join(' ')}`;
    // RFC 5321 §3.1: a 554 (or 421) greeting means no service here; QUIT is polite, then go.
    if (greeting.code !== 220) throw this.refusedSetup(greeting, 'GREETING');
    await this.hello(options.name);

    const policy = options.tls ?? 'opportunistic';
    if (!this.encrypted && policy !== 'never') {
      if (this.extensions.startTls) {
        await this.startTls(options.name, policy);
      } else if (policy === 'required') {
        throw new DeliveryError(`${this.mxServer} does not offer STARTTLS, which is required`, {
          replyCode: null,
          response: `TLS required but ${this.mxServer} does not offer STARTTLS`,
          command: 'STARTTLS',
          mxServer: this.mxServer,
        });
      }
    }
    if (options.auth) {
      if (!this.encrypted && !options.allowInsecureAuth) {
        throw new DeliveryError(`refusing to send credentials to ${this.mxServer} without TLS`, {
          replyCode: null,
          response: `AUTH refused by Herald: the connection to ${this.mxServer} is not encrypted (STARTTLS ${this.extensions.startTls ? 'failed' : 'not offered'})`,
          command: 'AUTH',
          mxServer: this.mxServer,
        });
      }
      await authenticate(this.wire, this.extensions.auth, options.auth, this.timeouts.command);
    }
    this.busy = false;
    this.wire.checkIdle();
  }

  /** EHLO, or HELO when the server does not know EHLO (RFC 5321 §4.1.4: a 5xx to EHLO). */
  private async hello(name: string): Promise<void> {
    this.wire.write(`EHLO ${name}\r\n`);
    const ehlo = await this.wire.read('EHLO', this.timeouts.command);
    if (ehlo.code === 250) {
      this.extensions = parseExtensions(ehlo);
      return;
    }
    if (ehlo.code < 500) throw this.refusedSetup(ehlo, 'EHLO');
    this.wire.write(`HELO ${name}\r\n`);
    const helo = await this.wire.read('HELO', this.timeouts.command);
    if (helo.code !== 250) throw this.refusedSetup(helo, 'HELO');
    this.extensions = NO_EXTENSIONS;
  }

  private async startTls(name: string, policy: TlsPolicy): Promise<void> {
    this.wire.write('STARTTLS\r\n');
    const reply = await this.wire.read('STARTTLS', this.timeouts.command);
    if (reply.code !== 220) {
      // RFC 3207 §4: after a refusal the session goes on in clear, if that is allowed.
      if (policy === 'required' || reply.code === 421) throw this.refusedSetup(reply, 'STARTTLS');
      return;
    }
    try {
      await this.wire.upgrade(this.timeouts.connect);
    } catch (error) {
      // Only a failed handshake may fall back to clear (see `rejectUnauthorized`), not a server breaking the protocol.
      this.tlsFailed = !(error instanceof DeliveryError && error.cause instanceof SmtpProtocolError);
      throw error;
    }
    // RFC 3207 §4.2: forget what was learnt in clear and ask again.
    await this.hello(name);
  }

  /** A reply that ends the setup: say QUIT unless the server already said goodbye, and fail. */
  private refusedSetup(reply: SmtpReply, command: string): DeliveryError {
    const error = replyError(reply, command, this.mxServer);
    if (reply.code !== 421) this.wire.write('QUIT\r\n');
    this.wire.fail(error);
    return error;
  }
}

const unsent = new WeakSet<Error>();

/** Marks an error of a transaction that wrote nothing, so a pool may try it on another connection. */
function notSent(error: DeliveryError): DeliveryError {
  unsent.add(error);
  return error;
}

/** True when the send failed before any of its commands was written: safe to send elsewhere. */
export function wasNotSent(error: unknown): boolean {
  return error instanceof Error && unsent.has(error);
}
