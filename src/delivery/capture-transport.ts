import libmime from 'libmime';
import { newId } from '../message/expand.js';
import type { CaptureInbox } from './capture-inbox.js';
import type { OutgoingMessage, SendResult, Transport } from './transport.js';

/** Delivers into the local capture inbox: the default when no relay is configured. */
export class CaptureTransport implements Transport {
  readonly name = 'capture';

  constructor(private readonly inbox: CaptureInbox) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    const id = newId();
    await this.inbox.store(
      {
        id,
        accountId: message.accountId,
        messageId: message.messageId,
        envelopeFrom: message.envelope.from,
        envelopeTo: message.envelope.to,
        subject: readSubject(message.raw),
        size: message.raw.length,
        receivedAt: Date.now(),
      },
      message.raw,
    );
    return { response: `250 2.0.0 Ok: captured as ${id}`, mxServer: 'capture' };
  }

  async close(): Promise<void> {}
}

/** The decoded Subject header, for the inbox listing. */
function readSubject(raw: Buffer): string {
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('utf8');
  const end = head.indexOf('\r\n\r\n');
  const headers = (end >= 0 ? head.slice(0, end) : head).replace(/\r\n[ \t]+/g, ' ');
  const match = /^subject:[ \t]*(.*)$/im.exec(headers);
  return match ? libmime.decodeWords(match[1]!.trim()) : '';
}
