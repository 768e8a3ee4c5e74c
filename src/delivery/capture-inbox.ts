/** A message kept by the local capture inbox instead of being sent. */
export interface CapturedMessage {
  id: string;
  accountId: string;
  messageId: string;
  envelopeFrom: string;
  envelopeTo: string;
  subject: string;
  size: number;
  receivedAt: number;
}

/** The capture inbox port: development delivery that keeps messages, per account, like Mailpit. */
export interface CaptureInbox {
  store(message: CapturedMessage, raw: Buffer): Promise<void>;
  list(accountId: string, options: { limit: number; to?: string }): Promise<CapturedMessage[]>;
  get(accountId: string, id: string): Promise<{ message: CapturedMessage; raw: Buffer } | null>;
  clear(accountId: string): Promise<number>;
}
