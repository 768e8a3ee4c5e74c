import net from 'node:net';

/** A raw SMTP client: the test writes bytes exactly and reads whole replies (multi-line joined). */
export interface RawSmtp {
  /** The next complete reply, e.g. "250 2.0.0 report recorded" (lines of a multi-line one joined by \n). */
  reply(): Promise<string>;
  /** Writes `line` + CRLF and returns the reply. */
  command(line: string): Promise<string>;
  write(bytes: string | Buffer): void;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  destroy(): void;
}

export async function connectSmtp(port: number): Promise<RawSmtp> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  let buffer = '';
  const waiting: ((line: string | null) => void)[] = [];
  const lines: string[] = [];
  let ended = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => {
    ended = true;
    for (const w of waiting.splice(0)) w(null);
  });
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const nextLine = (): Promise<string | null> => {
    if (lines.length > 0) return Promise.resolve(lines.shift()!);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => waiting.push(resolve));
  };
  const reply = async (): Promise<string> => {
    const got: string[] = [];
    for (;;) {
      const line = await nextLine();
      if (line === null) {
        if (got.length > 0) return got.join('\n');
        throw new Error('the server closed the connection');
      }
      got.push(line);
      if (!/^\d{3}-/.test(line)) return got.join('\n');
    }
  };
  return {
    reply,
    async command(line) {
      socket.write(line + '\r\n');
      return reply();
    },
    write: (bytes) => void socket.write(bytes),
    closed,
    destroy: () => socket.destroy(),
  };
}

/**
 * One SMTP transaction from greeting to QUIT; returns every reply. `data` is sent dot-stuffed
 * (RFC 5321 §4.5.2) with the final dot.
 */
export async function sendMail(port: number, envelope: { from: string; to: string[] }, data: Buffer | string): Promise<{ replies: string[]; dataReply: string | null }> {
  const c = await connectSmtp(port);
  const replies = [await c.reply(), await c.command('EHLO mta.sender.test'), await c.command(`MAIL FROM:<${envelope.from}>`)];
  let accepted = 0;
  for (const to of envelope.to) {
    const r = await c.command(`RCPT TO:<${to}>`);
    replies.push(r);
    if (r.startsWith('250')) accepted++;
  }
  let dataReply: string | null = null;
  if (accepted > 0) {
    replies.push(await c.command('DATA'));
    const text = Buffer.isBuffer(data) ? data.toString('latin1') : data;
    const body = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    c.write(Buffer.from(body + (body.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1'));
    dataReply = await c.reply();
    replies.push(dataReply);
  }
  replies.push(await c.command('QUIT'));
  c.destroy();
  return { replies, dataReply };
}
