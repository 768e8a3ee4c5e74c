import { SMTPServer } from 'smtp-server';
import type {
  SMTPServerAuthentication,
  SMTPServerAuthenticationResponse,
  SMTPServerDataStream,
  SMTPServerError,
  SMTPServerOptions,
  SMTPServerSession,
} from 'smtp-server';

/** One message the sink accepted (or, for `onData`/`reply`, is about to decide on). */
export interface SinkMessage {
  /** MAIL FROM address; '' for the null sender. */
  from: string;
  /** RCPT TO addresses, in order. */
  to: string[];
  /** The DATA content, dot-unstuffed, including the CRLF that ends its last line. Empty when `keep: false` and no hook is set. */
  raw: Buffer;
  /** Epoch ms at which the final dot arrived. */
  receivedAt: number;
}

export interface SmtpSinkOptions {
  /** Port to listen on. @defaultValue 0 (ephemeral) */
  port?: number;
  /** Address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** Keep accepted messages in `messages`; false only counts them (bench). @defaultValue true */
  keep?: boolean;
  /** Advertise STARTTLS with smtp-server's built-in self-signed certificate. @defaultValue false */
  startTls?: boolean;
  /** Require AUTH PLAIN/LOGIN with these credentials. @defaultValue none: AUTH optional, any credentials pass */
  auth?: { user: string; pass: string };
  /** Runs before the reply, e.g. to stall; a rejection answers DATA with its `responseCode` (default 451). */
  onData?: (msg: SinkMessage) => void | Promise<void>;
  /** null accepts with 250; otherwise DATA is answered with this code and text (e.g. 451, 550). */
  reply?: (msg: SinkMessage) => { code: number; message: string } | null;
}

export interface SmtpSink {
  port: number;
  /** smtp://127.0.0.1:PORT */
  url: string;
  /** Accepted messages, oldest first (always empty when `keep: false`). */
  messages: SinkMessage[];
  /** Accepted messages, kept or not. Refused ones (hook or `reply`) are not counted. */
  readonly count: number;
  /** Most SMTP connections open at the same moment so far. */
  readonly peakConnections: number;
  /** Resolves once `count` accepted messages have arrived. @defaultValue timeoutMs 30 000 ms */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Stops listening and drops open connections (421) after a short grace period. */
  close(): Promise<void>;
}

const MAX_SIZE = 60 * 1024 * 1024; // bytes; above any size Herald accepts, so the sink never refuses first
const MAX_CLIENTS = 10_000; // connections; pooled transports and benches open many at once
const CLOSE_GRACE = 200; // ms; smtp-server waits 30 s for clients by default, too long between tests
const DEFAULT_WAIT = 30 * 1000; // ms

interface Waiter {
  count: number;
  resolve: () => void;
}

/** Starts an in-process SMTP server that records (or only counts) what it receives. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const keep = options.keep ?? true;
  const startTls = options.startTls ?? false;
  const auth = options.auth;
  const collectRaw = keep || options.onData !== undefined || options.reply !== undefined;
  const messages: SinkMessage[] = [];
  let count = 0;
  let waiters: Waiter[] = [];

  function accept(msg: SinkMessage): void {
    count++;
    if (keep) messages.push(msg);
    if (waiters.length === 0) return;
    const due = waiters.filter((w) => w.count <= count);
    waiters = waiters.filter((w) => w.count > count);
    for (const w of due) w.resolve();
  }

  async function decide(msg: SinkMessage): Promise<{ code: number; message: string } | null> {
    await options.onData?.(msg);
    return options.reply?.(msg) ?? null;
  }

  let openConnections = 0;
  let peakConnections = 0;
  const serverOptions: SMTPServerOptions = {
    name: 'localhost',
    size: MAX_SIZE,
    maxClients: MAX_CLIENTS,
    closeTimeout: CLOSE_GRACE,
    logger: false,
    // No DNS lookups: they cost time per connection and a test machine may have no resolver.
    disableReverseLookup: true,
    disabledCommands: startTls ? [] : ['STARTTLS'],
    authOptional: auth === undefined,
    authMethods: ['PLAIN', 'LOGIN'],
    // With STARTTLS on offer, AUTH must wait for TLS as on a real relay, so a test can catch a
    // client that sends credentials in clear; without it, AUTH in clear is the only way to test AUTH.
    allowInsecureAuth: !startTls,
    onAuth(
      credentials: SMTPServerAuthentication,
      _session: SMTPServerSession,
      callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void,
    ): void {
      // Without `auth` the sink is a catch-all like a dev mailbox: any credentials pass.
      if (!auth || (credentials.username === auth.user && credentials.password === auth.pass)) {
        callback(null, { user: credentials.username });
        return;
      }
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onConnect(_session: SMTPServerSession, callback: (err?: Error | null) => void): void {
      openConnections++;
      peakConnections = Math.max(peakConnections, openConnections);
      callback();
    },
    onClose(): void {
      openConnections--;
    },
    onData(
      stream: SMTPServerDataStream,
      session: SMTPServerSession,
      callback: (err?: Error | null, message?: string) => void,
    ): void {
      const envelope = session.envelope;
      const from = envelope.mailFrom ? envelope.mailFrom.address : '';
      const to = envelope.rcptTo.map((r) => r.address);
      const chunks: Buffer[] = [];
      if (collectRaw) stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      else stream.resume();
      stream.on('end', () => {
        const msg: SinkMessage = { from, to, raw: Buffer.concat(chunks), receivedAt: Date.now() };
        if (options.onData === undefined && options.reply === undefined) {
          accept(msg);
          callback(null);
          return;
        }
        decide(msg).then(
          (answer) => {
            if (answer === null) {
              accept(msg);
              callback(null);
            } else if (answer.code < 400) {
              // smtp-server always answers success with 250; only the text can be chosen.
              accept(msg);
              callback(null, answer.message);
            } else {
              const err: SMTPServerError = new Error(answer.message);
              err.responseCode = answer.code;
              callback(err);
            }
          },
          (cause: unknown) => {
            const err: SMTPServerError = cause instanceof Error ? cause : new Error(String(cause));
            err.responseCode ??= 451;
            callback(err);
          },
        );
      });
    },
  };

  const server = new SMTPServer(serverOptions);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that drops mid-session makes smtp-server emit 'error'; unhandled, that would crash the test run.
  server.on('error', () => {});
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('smtp-sink: not listening on TCP');
  const port = address.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `smtp://${host}:${port}`,
    messages,
    get count() {
      return count;
    },
    get peakConnections() {
      return peakConnections;
    },
    waitFor(target: number, timeoutMs = DEFAULT_WAIT): Promise<void> {
      if (count >= target) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`smtp-sink: expected ${target} messages within ${timeoutMs} ms, ${count} arrived`));
        }, timeoutMs);
        const waiter: Waiter = {
          count: target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}

/**
 * `Message-ID: <requestId.n@host>` of a delivered message → its Herald message id and the host
 * that composed it (the process's `hostname`); null when the header is missing.
 */
export function heraldMessageId(raw: Buffer): { id: string; host: string } | null {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
  const m = /^message-id:\s*<([^>@\s]+)@([^>\s]+)>/im.exec(head);
  return m ? { id: m[1]!, host: m[2]! } : null;
}
