import type { SmtpReply } from './smtp-reply-reader.js';

/**
 * What the session steps (AUTH, a mail transaction) need from a connection: write commands, read
 * the reply to each in order within a time limit, send message data. A failed read or write has
 * already destroyed the connection and rejects with a `DeliveryError` without a reply code.
 */
export interface SmtpChannel {
  /** The server's host name, for `DeliveryError.mxServer`. */
  readonly mxServer: string;
  /** Writes one or more command lines, each already ended with CRLF, in one write. */
  write(lines: string): void;
  /** The next reply; `command` names the step in errors. */
  read(command: string, timeoutMs: number): Promise<SmtpReply>;
  /** Writes message data, waiting for the server to take each block within `blockTimeoutMs`. */
  writeData(slices: readonly Buffer[], blockTimeoutMs: number): Promise<void>;
  /** Ends the connection after a reply that makes it unusable (421, or a failed RSET). */
  abandon(reason: Error): void;
}
