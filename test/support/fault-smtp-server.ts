import { createServer, type Socket } from 'node:net';

/**
 * What the fault server says, byte for byte. Every field may be changed while the server runs
 * (`server.options.afterDataReply = '250 2.0.0 Ok'`), so a test can turn a failing relay into a
 * working one and watch the retry arrive.
 */
export interface FaultServerOptions {
  /** First line after connecting; null never greets. @defaultValue '220 fault.test ESMTP' (non-SMTP bytes when `garbage`) */
  greeting?: string | null;
  /** Wait this long before greeting, ms. @defaultValue 0 */
  greetingDelayMs?: number;
  /** The whole EHLO reply, one line each, codes included. @defaultValue ['250-fault.test', '250-PIPELINING', '250 8BITMIME'] */
  ehlo?: string[];
  /** Reply to MAIL FROM. @defaultValue '250 2.1.0 Ok' */
  onMail?: string;
  /** Reply to RCPT TO. @defaultValue '250 2.1.5 Ok' */
  onRcpt?: string;
  /**
   * Reply to the DATA command: a reply line (a 3xx one goes on to read the message), 'drop'
   * (answer 354, then close the socket as soon as message bytes arrive, before the final dot) or
   * 'hang' (answer 354, read the message, never answer the final dot). @defaultValue '354 End data with <CR><LF>.<CR><LF>'
   */
  onData?: string;
  /** Reply to the final dot. @defaultValue '250 2.0.0 Ok: queued' */
  afterDataReply?: string;
  /** Answer every command (and greet, unless `greeting` is given) with bytes that are not SMTP. @defaultValue false */
  garbage?: boolean;
}

/** One message the server answered with a 2xx after its final dot. */
export interface FaultMessage {
  from: string;
  to: string[];
  /** Dot-unstuffed content without the terminating `.` line. */
  data: Buffer;
}

export interface FaultServer {
  port: number;
  /** smtp://HOST:PORT */
  url: string;
  /** Live settings: change them to change how the next command is answered. */
  options: FaultServerOptions;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** TCP connections open right now. */
  readonly open: number;
  /** Messages answered with a 2xx after the final dot. */
  readonly received: number;
  messages: FaultMessage[];
  /** Every command line received, in order, across connections (for assertions on what the client said). */
  commands: string[];
  /** Destroys open connections and stops listening. */
  close(): Promise<void>;
}

const GARBAGE = Buffer.from('\x16\x03\x01\x00\xa5HTTP/1.1 400 Bad Request \xff\xfe\x00\r\n', 'latin1');
const DEFAULT_GREETING = '220 fault.test ESMTP';
const DEFAULT_EHLO = ['250-fault.test', '250-PIPELINING', '250 8BITMIME'];
const CRLF = '\r\n';
const END_OF_DATA = Buffer.from('\r\n.\r\n');
const MAX_LINE = 64 * 1024; // bytes; a command line longer than this is answered 500 and dropped

/** Starts a raw TCP SMTP server (on 127.0.0.1 and an ephemeral port unless `listen` says otherwise) whose replies are exactly the configured bytes. */
export async function startFaultServer(initial: FaultServerOptions = {}, listen: { host?: string; port?: number } = {}): Promise<FaultServer> {
  const host = listen.host ?? '127.0.0.1';
  const options: FaultServerOptions = { ...initial };
  const sockets = new Set<Socket>();
  const messages: FaultMessage[] = [];
  const commands: string[] = [];
  let connections = 0;

  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client that resets the connection is part of the game, not a test failure.
    socket.on('error', () => {});
    serve(socket, options, messages, commands);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault-smtp-server: not listening on TCP');
  const port = address.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `smtp://${host}:${port}`,
    options,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    get received() {
      return messages.length;
    },
    messages,
    commands,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** One SMTP session. Commands pipelined into one chunk are answered one by one, in order. */
function serve(socket: Socket, options: FaultServerOptions, messages: FaultMessage[], commands: string[]): void {
  let greeted = false;
  let mode: 'command' | 'data' | 'hung' = 'command';
  let buffer = Buffer.alloc(0);
  let from: string | null = null;
  let to: string[] = [];

  const write = (line: string): void => {
    if (socket.destroyed) return;
    if (options.garbage) socket.write(GARBAGE);
    else socket.write(line + CRLF);
  };

  const greet = (): void => {
    if (socket.destroyed) return;
    greeted = true;
    if (options.greeting === undefined && options.garbage) socket.write(GARBAGE);
    else socket.write((options.greeting ?? DEFAULT_GREETING) + CRLF);
    pump();
  };
  if (options.greeting !== null) {
    const delay = options.greetingDelayMs ?? 0;
    if (delay > 0) setTimeout(greet, delay).unref();
    else greet();
  }

  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    // Nothing is answered before the greeting (RFC 5321 §4.3.1): commands sent early wait their turn.
    if (greeted) pump();
  });

  function pump(): void {
    while (!socket.destroyed) {
      if (mode === 'hung') {
        buffer = Buffer.alloc(0);
        return;
      }
      if (mode === 'data') {
        if (!readData()) return;
        continue;
      }
      const end = buffer.indexOf('\n');
      if (end < 0) {
        if (buffer.length > MAX_LINE) {
          write('500 5.5.2 Line too long');
          socket.end();
        }
        return;
      }
      const line = buffer.subarray(0, end).toString('latin1').replace(/\r$/, '');
      buffer = buffer.subarray(end + 1);
      commands.push(line);
      command(line);
    }
  }

  /** Consumes the message up to its final dot; false when more bytes are needed. */
  function readData(): boolean {
    if (options.onData === 'drop') {
      if (buffer.length > 0) socket.destroy();
      return false;
    }
    // The DATA content starts right after the 354 line, so a leading ".\r\n" is an empty message.
    const framed = Buffer.concat([Buffer.from(CRLF), buffer]);
    const at = framed.indexOf(END_OF_DATA);
    if (at < 0) return false;
    const content = framed.subarray(2, at + 2);
    buffer = framed.subarray(at + END_OF_DATA.length);
    // RFC 5321 §4.5.2: a line starting with a dot had one more dot added by the client.
    const data = Buffer.from(content.toString('latin1').replace(/(^|\r\n)\./g, '$1'), 'latin1');
    if (options.onData === 'hang') {
      mode = 'hung';
      return true;
    }
    mode = 'command';
    const reply = options.afterDataReply ?? '250 2.0.0 Ok: queued';
    if (reply.startsWith('2') && !options.garbage && from !== null) messages.push({ from, to, data });
    from = null;
    to = [];
    write(reply);
    return true;
  }

  function command(line: string): void {
    const verb = (/^\S*/.exec(line)?.[0] ?? '').toUpperCase();
    switch (verb) {
      case 'EHLO':
        if (options.garbage) write('');
        else socket.write((options.ehlo ?? DEFAULT_EHLO).map((l) => l + CRLF).join(''));
        return;
      case 'HELO':
        write('250 fault.test');
        return;
      case 'MAIL': {
        const reply = options.onMail ?? '250 2.1.0 Ok';
        if (reply.startsWith('2')) {
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          to = [];
        }
        write(reply);
        return;
      }
      case 'RCPT': {
        if (from === null) {
          write('503 5.5.1 Error: need MAIL command');
          return;
        }
        const reply = options.onRcpt ?? '250 2.1.5 Ok';
        if (reply.startsWith('2')) to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
        write(reply);
        return;
      }
      case 'DATA': {
        // With PIPELINING the client sends DATA after refused recipients too: a real server refuses it.
        if (from === null || to.length === 0) {
          write('554 5.5.1 Error: no valid recipients');
          return;
        }
        const reply = options.onData ?? '354 End data with <CR><LF>.<CR><LF>';
        if (reply === 'drop' || reply === 'hang') {
          write('354 End data with <CR><LF>.<CR><LF>');
          mode = 'data';
          return;
        }
        write(reply);
        if (reply.startsWith('3')) mode = 'data';
        return;
      }
      case 'RSET':
        from = null;
        to = [];
        write('250 2.0.0 Ok');
        return;
      case 'NOOP':
        write('250 2.0.0 Ok');
        return;
      case 'QUIT':
        write('221 2.0.0 Bye');
        socket.end();
        return;
      default:
        write('502 5.5.2 Error: command not recognized');
    }
  }
}
