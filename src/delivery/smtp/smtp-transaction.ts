import { isAscii } from 'node:buffer';
import { DeliveryError } from '../delivery-error.js';
import type { SmtpChannel } from './smtp-channel.js';
import { dataSlices } from './smtp-data.js';
import { checkEnvelope, utf8Refused, wireAddress, type SmtpEnvelope } from './smtp-envelope.js';
import { replyError } from './smtp-errors.js';
import type { SmtpExtensions } from './smtp-extensions.js';
import { formatReply, type SmtpReply } from './smtp-reply-reader.js';
import type { SmtpTimeouts } from './smtp-timeouts.js';

/** A recipient the server refused while it took the message for others. */
export interface RejectedRecipient {
  recipient: string;
  reply: SmtpReply;
  /** The refusal as a `DeliveryError`, ready for `classifyFailure`. */
  error: DeliveryError;
}

/** The server took the message for `accepted`; `response` is its reply to the final dot. */
export interface SmtpSendResult {
  response: string;
  accepted: string[];
  rejected: RejectedRecipient[];
}

/** An SMTP message: the envelope and the RFC 5322 message, CRLF line ends, not dot-stuffed. */
export interface SmtpMessage extends SmtpEnvelope {
  raw: Buffer;
}

const FINAL_DOT = [Buffer.from('.\r\n')];

/** How a transaction shares a connection with the one before it (see `SmtpConnection.depth`). */
export interface TransactionTurn {
  /** Resolves when the previous transaction has read its last reply: this one's timers start then. */
  previousDone: Promise<void>;
  /** Lets the next transaction write: called once this one has written all it will write. */
  release: () => void;
}

const ALONE: TransactionTurn = { previousDone: Promise.resolve(), release: () => {} };

/**
 * One mail transaction (RFC 5321 §3.3) on a connection in the ready state. With PIPELINING
 * (RFC 2920) MAIL, every RCPT and DATA go in one write and every reply is read, in order, before
 * deciding; without it, one command at a time. A transaction that fails before its data is sent
 * is reset with RSET so the connection can carry the next one. Rejects with a `DeliveryError`.
 */
export async function runTransaction(
  channel: SmtpChannel,
  ext: SmtpExtensions,
  timeouts: SmtpTimeouts,
  message: SmtpMessage,
  turn: TransactionTurn = ALONE,
): Promise<SmtpSendResult> {
  const mx = channel.mxServer;
  checkEnvelope(message, mx);
  const from = wireAddress(message.from, ext.smtpUtf8);
  if (from === null) throw utf8Refused(message.from, 'sender', mx);
  // RFC 1870 §4: refuse here what the server said it will refuse; 552 5.3.4, permanent.
  if (ext.size !== null && ext.size > 0 && message.raw.length > ext.size) {
    throw new DeliveryError(`message of ${message.raw.length} bytes exceeds ${mx}'s limit of ${ext.size}`, {
      replyCode: 552,
      response: `552 5.3.4 message size ${message.raw.length} exceeds the limit of ${ext.size} bytes announced by ${mx}`,
      command: 'MAIL FROM',
      mxServer: mx,
    });
  }

  const rejected: RejectedRecipient[] = [];
  const recipients: { recipient: string; wire: string }[] = [];
  let utf8 = from.utf8;
  for (const recipient of message.to) {
    const wire = wireAddress(recipient, ext.smtpUtf8);
    if (wire === null) {
      const error = utf8Refused(recipient, 'recipient', mx);
      rejected.push({ recipient, reply: { code: 553, lines: [error.response.slice(4)] }, error });
    } else {
      recipients.push({ recipient, wire: wire.address });
      utf8 ||= wire.utf8;
    }
  }
  if (recipients.length === 0) throw rejected[0]!.error;

  let params = '';
  if (ext.size !== null) params += ` SIZE=${message.raw.length}`;
  // RFC 6152: declare 8-bit content when the server takes it. One that does not is sent the bytes
  // anyway, as Postfix and Sendmail do: refusing would bounce mail most such servers accept.
  if (ext.eightBitMime && !isAscii(message.raw)) params += ' BODY=8BITMIME';
  if (utf8) params += ' SMTPUTF8';
  const mail = `MAIL FROM:<${from.address}>${params}\r\n`;
  const slices = dataSlices(message.raw);

  if (ext.pipelining) {
    let group = mail;
    for (const r of recipients) group += `RCPT TO:<${r.wire}>\r\n`;
    // RFC 2920 §3.1: DATA may only end a group, its 354 must arrive before the content.
    channel.write(group + 'DATA\r\n');
    // The previous message's final reply comes first; this group's replies are waited for after it.
    await turn.previousDone;
    const mailReply = await readChecked(channel, 'MAIL FROM', timeouts.mail);
    const accepted = await readRecipients(channel, recipients, rejected, timeouts.rcpt);
    const dataReply = await readChecked(channel, 'DATA', timeouts.dataInit);
    if (mailReply.code >= 300 || accepted.length === 0 || dataReply.code !== 354) {
      await reset(channel, timeouts, dataReply.code === 354);
      if (mailReply.code >= 300) throw replyError(mailReply, 'MAIL FROM', mx);
      if (accepted.length === 0) throw rejected[0]!.error;
      throw replyError(dataReply, 'DATA', mx);
    }
    return sendData(channel, timeouts, slices, accepted, rejected, turn);
  }

  await turn.previousDone;
  channel.write(mail);
  const mailReply = await readChecked(channel, 'MAIL FROM', timeouts.mail);
  // A refused MAIL opens no transaction (RFC 5321 §4.1.1.2), so there is nothing to reset.
  if (mailReply.code >= 300) throw replyError(mailReply, 'MAIL FROM', mx);
  const accepted: string[] = [];
  for (const r of recipients) {
    channel.write(`RCPT TO:<${r.wire}>\r\n`);
    accepted.push(...(await readRecipients(channel, [r], rejected, timeouts.rcpt)));
  }
  if (accepted.length === 0) {
    await reset(channel, timeouts);
    throw rejected[0]!.error;
  }
  channel.write('DATA\r\n');
  const dataReply = await readChecked(channel, 'DATA', timeouts.dataInit);
  if (dataReply.code !== 354) {
    await reset(channel, timeouts);
    throw replyError(dataReply, 'DATA', mx);
  }
  return sendData(channel, timeouts, slices, accepted, rejected, turn);
}

async function sendData(
  channel: SmtpChannel,
  timeouts: SmtpTimeouts,
  slices: Buffer[],
  accepted: string[],
  rejected: RejectedRecipient[],
  turn: TransactionTurn,
): Promise<SmtpSendResult> {
  await channel.writeData(slices, timeouts.dataBlock);
  // The read is queued before the next transaction may write, so replies are matched in order.
  const final = readChecked(channel, 'DATA', timeouts.dataEnd);
  turn.release();
  const reply = await final;
  // The reply to the final dot ends the transaction either way (§4.1.1.4): no RSET needed.
  if (reply.code >= 300) throw replyError(reply, 'DATA', channel.mxServer);
  return { response: formatReply(reply), accepted, rejected };
}

async function readRecipients(
  channel: SmtpChannel,
  recipients: readonly { recipient: string }[],
  rejected: RejectedRecipient[],
  timeoutMs: number,
): Promise<string[]> {
  const accepted: string[] = [];
  for (const { recipient } of recipients) {
    const reply = await readChecked(channel, 'RCPT TO', timeoutMs);
    if (reply.code < 300) accepted.push(recipient);
    else rejected.push({ recipient, reply, error: replyError(reply, 'RCPT TO', channel.mxServer) });
  }
  return accepted;
}

/**
 * Reads a reply; a 421 means the server is closing the connection (RFC 5321 §3.8), so the
 * replies still expected will never come: the connection is given up and the 421 is the answer.
 */
async function readChecked(channel: SmtpChannel, command: string, timeoutMs: number): Promise<SmtpReply> {
  const reply = await channel.read(command, timeoutMs);
  if (reply.code === 421) {
    const error = replyError(reply, command, channel.mxServer);
    channel.abandon(error);
    throw error;
  }
  return reply;
}

/**
 * Ends a failed transaction with RSET (RFC 5321 §4.1.1.5) so the connection can carry the next one.
 * RFC 2920 §3.1: a 354 after a failed MAIL or with no accepted recipient still wants a message, so
 * a lone dot goes first. A server that refuses RSET leaves the session in doubt: the connection
 * goes. Failing here never hides the reply that failed the transaction, so errors are swallowed:
 * the connection is destroyed by then.
 */
async function reset(channel: SmtpChannel, timeouts: SmtpTimeouts, sendDot = false): Promise<void> {
  try {
    if (sendDot) {
      await channel.writeData(FINAL_DOT, timeouts.dataBlock);
      await readChecked(channel, 'DATA', timeouts.dataEnd);
    }
    channel.write('RSET\r\n');
    const reply = await readChecked(channel, 'RSET', timeouts.command);
    if (reply.code !== 250) channel.abandon(replyError(reply, 'RSET', channel.mxServer));
  } catch {
    // The connection is already destroyed; the caller reports the transaction's own failure.
  }
}
