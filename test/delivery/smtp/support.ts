import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { SmtpConnectionOptions } from '../../../src/delivery/smtp/smtp-connection.js';

/**
 * One client connection to a scripted server: the test reads what the client sent, line by line
 * or up to the final dot, and writes reply bytes exactly as given.
 */
export interface ScriptedSession {
  socket: net.Socket;
  /** Writes bytes as they are, no CRLF added. */
  write(bytes: string): void;
  /** Writes each piece separately with a pause between, so each reaches the client as its own chunk. */
  writeInPieces(pieces: string[]): Promise<void>;
  /** The next command line without its CRLF; rejects if the client closes first. */
  readLine(): Promise<string>;
  /** The DATA content up to and including the CRLF before the final dot, as sent (still dot-stuffed). */
  readData(): Promise<Buffer>;
  /** True when the client sent more bytes than the last line read (it did not wait for a reply). */
  readonly hasMore: boolean;
  /** Resolves when the client closes or resets the connection. */
  closed: Promise<void>;
}

export interface ScriptedServer {
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Errors thrown by the script, so a test can fail on them. */
  errors: unknown[];
  close(): Promise<void>;
}

/** Starts a raw TCP server on 127.0.0.1 that runs `script` for each connection. */
export async function startScriptedServer(script: (session: ScriptedSession, index: number) => Promise<void>): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const errors: unknown[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    const index = connections++;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const session = scriptedSession(socket);
    void session.closed.then(() => sockets.delete(socket));
    script(session, index).catch((err: unknown) => {
      if (!socket.destroyed) errors.push(err);
      socket.destroy();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    get connections() {
      return connections;
    },
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function scriptedSession(socket: net.Socket): ScriptedSession {
  let buffer = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let ended = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake?.();
  });
  void closed.then(() => {
    ended = true;
    wake?.();
  });
  async function until<T>(take: () => T | undefined): Promise<T> {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (ended) throw new Error('client closed the connection');
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  }
  return {
    socket,
    write: (bytes) => {
      if (!socket.destroyed) socket.write(Buffer.from(bytes, 'latin1'));
    },
    async writeInPieces(pieces) {
      for (const piece of pieces) {
        if (!socket.destroyed) socket.write(Buffer.from(piece, 'latin1'));
        await sleep(15);
      }
    },
    readLine: () =>
      until(() => {
        const end = buffer.indexOf('\r\n');
        if (end === -1) return undefined;
        const line = buffer.subarray(0, end).toString('utf8');
        buffer = buffer.subarray(end + 2);
        return line;
      }),
    readData: () =>
      until(() => {
        const framed = Buffer.concat([Buffer.from('\r\n'), buffer]);
        const at = framed.indexOf('\r\n.\r\n');
        if (at === -1) return undefined;
        buffer = framed.subarray(at + 5);
        return framed.subarray(2, at + 2);
      }),
    get hasMore() {
      return buffer.length > 0;
    },
    closed,
  };
}

/** Answers EHLO with `extensions` (one keyword per line), everything before it with the usual replies. */
export async function greetAndEhlo(session: ScriptedSession, extensions: string[] = ['PIPELINING', '8BITMIME']): Promise<void> {
  session.write('220 scripted.test ESMTP\r\n');
  const ehlo = await session.readLine();
  if (!ehlo.startsWith('EHLO ')) throw new Error(`expected EHLO, got ${ehlo}`);
  const lines = ['scripted.test', ...extensions];
  session.write(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join(''));
}

/** Serves plain transactions (MAIL, RCPT, DATA, RSET, QUIT) until the client leaves, recording each message. */
export async function serveTransactions(session: ScriptedSession, received: Buffer[] = []): Promise<void> {
  for (;;) {
    const line = await session.readLine().catch(() => null);
    if (line === null) return;
    const verb = line.split(/[ :]/)[0]!.toUpperCase();
    if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') session.write('250 2.0.0 Ok\r\n');
    else if (verb === 'DATA') {
      session.write('354 go ahead\r\n');
      received.push(await session.readData());
      session.write('250 2.0.0 Ok: queued\r\n');
    } else if (verb === 'QUIT') {
      session.write('221 2.0.0 Bye\r\n');
      session.socket.end();
      return;
    } else session.write('502 5.5.2 unknown command\r\n');
  }
}

/** Connection options for tests: a short fuse on every step so a hang fails fast, not in minutes. */
export function testConnectionOptions(port: number, overrides: Partial<SmtpConnectionOptions> = {}): SmtpConnectionOptions {
  return {
    host: '127.0.0.1',
    port,
    name: 'client.herald.test',
    rejectUnauthorized: false,
    ...overrides,
    timeouts: { connect: 5000, greeting: 5000, command: 5000, mail: 5000, rcpt: 5000, dataInit: 5000, dataBlock: 5000, dataEnd: 5000, quit: 1000, ...overrides.timeouts },
  };
}

/** A port nothing listens on: bound once, then closed. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RcptFilterServer {
  port: number;
  /** Messages accepted, with the recipients that were accepted for them. */
  messages: { from: string; to: string[]; raw: Buffer }[];
  close(): Promise<void>;
}

/**
 * An smtp-server that refuses RCPT TO for the recipients in `refuse` with `550 5.1.1` (the shared
 * sink decides only after DATA, so it cannot split a transaction's recipients, nor speak smtps).
 */
export async function startRcptFilterServer(refuse: string[], options: { secure?: boolean } = {}): Promise<RcptFilterServer> {
  const messages: RcptFilterServer['messages'] = [];
  const server = new SMTPServer({
    // With `secure`, TLS from the first byte (smtps) with smtp-server's built-in self-signed certificate.
    secure: options.secure ?? false,
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 200,
    onRcptTo(address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void): void {
      if (refuse.includes(address.address)) {
        callback(Object.assign(new Error('5.1.1 <' + address.address + '>: Recipient address rejected: User unknown'), { responseCode: 550 }));
      } else callback();
    },
    onData(stream, session, callback): void {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        messages.push({ from: envelope.mailFrom ? envelope.mailFrom.address : '', to: envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        callback(null);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address() as net.AddressInfo;
  return { port: address.port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
