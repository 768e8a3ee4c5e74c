/** The SMTP envelope of one message to one recipient. */
export interface Envelope {
  from: string;
  to: string;
}

export interface OutgoingMessage {
  accountId: string;
  messageId: string;
  envelope: Envelope;
  raw: Buffer;
}

/** What the receiving server said when it took the message. */
export interface SendResult {
  response: string;
  mxServer: string | null;
}

/**
 * Hands one message to the next hop. Resolves on a 2xx; rejects with a `DeliveryError` that
 * `classifyFailure` turns into deferred or bounced.
 */
export interface Transport {
  readonly name: string;
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): Promise<void>;
}
