/** One complete SMTP reply; `lines` holds the text after the code and separator of every line. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

/** The server sent bytes that are not an SMTP reply: the connection cannot be trusted any more. */
export class SmtpProtocolError extends Error {
  override readonly name = 'SmtpProtocolError';
}

interface Pending {
  resolve: (reply: SmtpReply) => void;
  reject: (err: Error) => void;
}

/**
 * Longest reply line taken, CRLF excluded. RFC 5321 §4.5.3.1.5 allows 512 octets; real servers
 * exceed it a little, garbage exceeds it a lot.
 */
export const MAX_REPLY_LINE = 2000; // bytes
/** Most lines in one reply: a server that never ends its "250-" lines is refused, not buffered. */
export const MAX_REPLY_LINES = 1000;

/**
 * Turns a socket's byte stream into whole SMTP replies, in order. A reply may span chunks, a chunk
 * may hold several replies (RFC 2920 pipelining), and a reply may have many lines (RFC 5321 §4.2.1:
 * "250-" continues, "250 " ends). Anything else fails the reader with an `SmtpProtocolError`.
 */
export class SmtpReplyReader {
  private buffered = '';
  private lines: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;

  /** Feeds bytes as they arrive from the socket. */
  push(chunk: Buffer): void {
    if (this.failure) return;
    // latin1 maps bytes one to one, so a chunk boundary can never split a character; reply text
    // is ASCII (RFC 5321 §4.2) except with SMTPUTF8, where it is only ever shown, not parsed.
    this.buffered = this.buffered.length === 0 ? chunk.toString('latin1') : this.buffered + chunk.toString('latin1');
    let start = 0;
    let end: number;
    while ((end = this.buffered.indexOf('\n', start)) !== -1) {
      const stop = end > start && this.buffered.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
      if (stop - start > MAX_REPLY_LINE) {
        this.fail(new SmtpProtocolError(`SMTP reply line longer than ${MAX_REPLY_LINE} bytes`));
        return;
      }
      this.takeLine(this.buffered.slice(start, stop));
      start = end + 1;
      if (this.failure) return;
    }
    this.buffered = start === 0 ? this.buffered : this.buffered.slice(start);
    if (this.buffered.length > MAX_REPLY_LINE + 1) {
      this.fail(new SmtpProtocolError(`SMTP reply line longer than ${MAX_REPLY_LINE} bytes`));
    }
  }

  /** The next reply, waiting for it if it has not arrived yet. */
  next(): Promise<SmtpReply> {
    const reply = this.ready.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<SmtpReply>((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Complete replies nobody has asked for yet. */
  get unread(): number {
    return this.ready.length;
  }

  /** True when bytes of a reply not yet complete are held (RFC 3207 §5: none may precede TLS). */
  get holdsPartial(): boolean {
    return this.buffered.length > 0 || this.lines.length > 0;
  }

  /** The error the reader failed with, if it did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Fails every waiting and future `next()`, e.g. when the socket errors or closes. First error wins. */
  fail(err: Error): void {
    this.failure ??= err;
    this.buffered = '';
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  private takeLine(line: string): void {
    // RFC 5321 §4.2: three digits, then SP, "-" or the end of the line; the first digit is 2 to 5.
    const c0 = line.charCodeAt(0);
    const c1 = line.charCodeAt(1);
    const c2 = line.charCodeAt(2);
    const sep = line.length > 3 ? line.charCodeAt(3) : 0x20;
    if (!(c0 >= 0x32 && c0 <= 0x35 && isDigit(c1) && isDigit(c2) && (sep === 0x20 || sep === 0x2d))) {
      this.fail(new SmtpProtocolError(`malformed SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`));
      return;
    }
    this.lines.push(line.slice(4));
    if (sep === 0x2d) {
      if (this.lines.length >= MAX_REPLY_LINES) this.fail(new SmtpProtocolError(`SMTP reply longer than ${MAX_REPLY_LINES} lines`));
      return;
    }
    // The last line's code is the reply's (§4.2.1 wants it on every line; Postfix reads the last too).
    const reply: SmtpReply = { code: (c0 - 0x30) * 100 + (c1 - 0x30) * 10 + (c2 - 0x30), lines: this.lines };
    this.lines = [];
    const waiter = this.pending.shift();
    if (waiter) waiter.resolve(reply);
    else this.ready.push(reply);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A reply as one line of text for events and errors: "550 5.1.1 No such user", continuation lines
 * appended with a space and without the enhanced status code they repeat (RFC 2034 §4).
 */
export function formatReply(reply: SmtpReply): string {
  const first = reply.lines[0] ?? '';
  let text = first.length > 0 ? `${reply.code} ${first}` : String(reply.code);
  for (let i = 1; i < reply.lines.length; i++) {
    const more = reply.lines[i]!.replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, '');
    if (more.length > 0) text += ` ${more}`;
  }
  return text;
}
