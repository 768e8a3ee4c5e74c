/** One complete SMTP reply; `lines` holds the text after the code and separator of every line. */
export interface SmtpReply {
  code: number;
  lines: string[];
}

interface Pending {
  resolve: (reply: SmtpReply) => void;
  reject: (err: Error) => void;
}

/**
 * Turns a socket's byte stream into whole SMTP replies, in order. A reply may span chunks, a chunk
 * may hold several replies (RFC 2920 pipelining), and a reply may have many lines (RFC 5321 §4.2.1:
 * "250-" continues, "250 " ends).
 */
export class SmtpReplyReader {
  private buffered = '';
  private lines: string[] = [];
  private readonly ready: SmtpReply[] = [];
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;

  /** Feeds bytes as they arrive from the socket. */
  push(chunk: Buffer): void {
    // latin1 maps bytes one to one, so a chunk boundary can never split a character.
    this.buffered += chunk.toString('latin1');
    let end: number;
    while ((end = this.buffered.indexOf('\n')) !== -1) {
      const line = this.buffered.slice(0, end > 0 && this.buffered[end - 1] === '\r' ? end - 1 : end);
      this.buffered = this.buffered.slice(end + 1);
      this.takeLine(line);
      if (this.failure) return;
    }
  }

  /** The next reply, waiting for it if it has not arrived yet. */
  next(): Promise<SmtpReply> {
    const reply = this.ready.shift();
    if (reply) return Promise.resolve(reply);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<SmtpReply>((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Fails every waiting and future `next()`, e.g. when the socket errors or closes. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  private takeLine(line: string): void {
    const code = /^[2-5]\d\d(?=[ -]|$)/.exec(line);
    if (code === null) {
      this.fail(new Error(`malformed SMTP reply line: ${JSON.stringify(line)}`));
      return;
    }
    this.lines.push(line.slice(4));
    if (line[3] === '-') return;
    const reply: SmtpReply = { code: Number(code[0]), lines: this.lines };
    this.lines = [];
    const waiter = this.pending.shift();
    if (waiter) waiter.resolve(reply);
    else this.ready.push(reply);
  }
}
