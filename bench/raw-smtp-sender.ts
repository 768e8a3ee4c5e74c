import net from 'node:net';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
// The same reply reader and dot-stuffing as Herald's SMTP client, so the ceiling measures the protocol, not a leaner parser.
import { encodeData } from '../src/delivery/smtp/smtp-data.js';
import { SmtpReplyReader, type SmtpReply } from '../src/delivery/smtp/smtp-reply-reader.js';

export interface SendRawOptions {
  host: string;
  port: number;
  /** Parallel SMTP connections; messages go to whichever connection is free next. */
  connections: number;
  messages: number;
  /** The whole RFC 5322 message, sent as is for every message (dot-stuffed on the wire). */
  body: Buffer;
}

export interface SendRawResult {
  /** Messages the server answered 250 after the final dot. */
  sent: number;
  /** From the first connect to the last message's 250, QUIT excluded. */
  ms: number;
}

/** A reply the sender did not expect; carries the command and the reply, as delivery errors do. */
export class SmtpReplyError extends Error {
  override name = 'SmtpReplyError';
  constructor(
    readonly command: string,
    readonly reply: SmtpReply,
  ) {
    super(`${command} answered ${reply.code} ${reply.lines.join(' / ')}`);
  }
  get responseCode(): number {
    return this.reply.code;
  }
}

interface Session {
  socket: net.Socket;
  reader: SmtpReplyReader;
}

const QUIT_GRACE = 2 * 1000; // ms
// One write for the whole envelope: RFC 2920 §3.1 lets MAIL, RCPT and DATA go in one group,
// DATA being last since its 354 must arrive before the content.
const ENVELOPE = Buffer.from('MAIL FROM:<bench@herald.test>\r\nRCPT TO:<sink@herald.test>\r\nDATA\r\n');

/**
 * The raw SMTP ceiling: a minimal pipelining client (RFC 2920) that sends `messages` copies of
 * `body` over `connections` reused connections, with none of Herald's work in the way.
 */
export async function sendRaw(opts: SendRawOptions): Promise<SendRawResult> {
  if (opts.connections < 1) throw new Error('sendRaw: connections must be at least 1');
  // Encoded once: dot-stuffing a 50 KB body per message would measure the sender, not SMTP.
  const data = encodeData(opts.body);
  const started = performance.now();
  const opened = await Promise.allSettled(
    Array.from({ length: opts.connections }, () => openSession(opts.host, opts.port)),
  );
  const sessions = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const refused = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (refused) {
    for (const s of sessions) s.socket.destroy();
    throw refused.reason;
  }

  let claimed = 0;
  let failed = false;
  // Connections take the next message when free, so a slow one does not hold back the rest.
  const claim = (): boolean => {
    if (failed || claimed >= opts.messages) return false;
    claimed++;
    return true;
  };
  let counts: number[];
  try {
    counts = await Promise.all(sessions.map((s) => sendOn(s, data, claim)));
  } catch (err) {
    failed = true;
    for (const s of sessions) s.socket.destroy();
    throw err;
  }
  const ms = performance.now() - started;
  await Promise.all(sessions.map(quit));
  return { sent: counts.reduce((a, b) => a + b, 0), ms };
}

async function openSession(host: string, port: number): Promise<Session> {
  const socket = net.connect({ host, port });
  // Nagle would hold each small command write until the previous one is acknowledged.
  socket.setNoDelay(true);
  const reader = new SmtpReplyReader();
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', (err) => reader.fail(err));
  socket.on('close', () => reader.fail(new Error(`connection to ${host}:${port} closed`)));
  try {
    expect(await reader.next(), 220, 'greeting');
    socket.write('EHLO bench.herald.test\r\n');
    const ehlo = expect(await reader.next(), 250, 'EHLO');
    // RFC 2920 §3.2: a client may pipeline only if the server advertises it.
    if (!ehlo.lines.slice(1).some((l) => /^PIPELINING\b/i.test(l))) {
      throw new SmtpReplyError('EHLO (no PIPELINING)', ehlo);
    }
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return { socket, reader };
}

async function sendOn(session: Session, data: Buffer, claim: () => boolean): Promise<number> {
  const { socket, reader } = session;
  let sent = 0;
  while (claim()) {
    socket.write(ENVELOPE);
    // Read all three before checking: a refused MAIL still leaves RCPT's and DATA's replies coming.
    const mail = await reader.next();
    const rcpt = await reader.next();
    const dataReply = await reader.next();
    expect(mail, 250, 'MAIL FROM');
    expect(rcpt, 250, 'RCPT TO');
    expect(dataReply, 354, 'DATA');
    socket.write(data);
    expect(await reader.next(), 250, 'end of data');
    sent++;
  }
  return sent;
}

async function quit(session: Session): Promise<void> {
  const closed = once(session.socket, 'close').catch(() => undefined);
  // Every message is already acknowledged, so a server slow to say goodbye is just cut off.
  const timer = setTimeout(() => session.socket.destroy(), QUIT_GRACE);
  session.socket.write('QUIT\r\n');
  await session.reader.next().catch(() => undefined);
  session.socket.end();
  await closed;
  clearTimeout(timer);
}

function expect(reply: SmtpReply, code: number, command: string): SmtpReply {
  if (reply.code !== code) throw new SmtpReplyError(command, reply);
  return reply;
}
