import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { EngagementEvent, BounceEvent, SpamReportEvent } from '../events/event.js';
import type { EngagementLog } from '../events/engagement-log.js';
import type { ActivityStore, MessageSummary } from '../events/event-log.js';
import { bounceTypeOf } from '../delivery/classify-reply.js';
import { readReport, type InboundReport, type RecipientStatus } from './report.js';
import type { ReturnPaths } from './return-path.js';

/** What became of one received message. */
export type IntakeOutcome =
  /** Events were derived (`fresh`: those not recorded before; a DSN received twice has none). */
  | { kind: 'recorded'; events: EngagementEvent[]; fresh: EngagementEvent[] }
  /** Accepted and dropped, as an MTA drops mail to a no-reply mailbox: `why` is logged. */
  | { kind: 'ignored'; why: string }
  /** A report that cannot be read: refused with 554 5.6.0 so its sender sees why. */
  | { kind: 'malformed'; why: string };

export interface InboundEnvelope {
  /** The envelope recipients, as accepted at RCPT TO. */
  to: string[];
  /** Who handed it over (the peer's EHLO name or address): the mxServer of last resort. */
  peer: string;
}

const HERALD_MESSAGE_ID = /^([0-9A-Za-z]{22}\.\d{1,7})@/;

/**
 * Turns received bounces and complaints into engagement events and records them with their
 * effects (message closed as not delivered, address suppressed) in one durable step. A message is
 * found by the VERP token of the envelope recipient (or of the Original-Mail-From or Return-Path
 * the report quotes), all HMAC-checked; else by the Message-ID of the returned header, which is
 * trusted only when the report names the same recipient. Event ids derive from (message, kind,
 * recipient), so the same report received twice, or a DSN sent by two hops, counts once.
 */
export class ReportIntake {
  constructor(
    private readonly activity: Pick<ActivityStore, 'findMessages'>,
    private readonly engagement: EngagementLog,
    private readonly returnPaths: ReturnPaths,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads, matches and records one message. Throws only when the store fails (the sender retries). */
  async take(raw: Buffer, envelope: InboundEnvelope): Promise<IntakeOutcome> {
    let report: InboundReport;
    try {
      report = readReport(raw);
    } catch (error) {
      // The reader is total over its input; this is a last guard so no input can crash a session.
      return { kind: 'malformed', why: `unreadable: ${error instanceof Error ? error.message : String(error)}` };
    }
    switch (report.kind) {
      case 'malformed':
        return { kind: 'malformed', why: report.why };
      case 'auto-reply':
        return { kind: 'ignored', why: `automatic reply (${report.why})` };
      case 'other':
        return { kind: 'ignored', why: report.why };
      case 'dsn':
        return this.takeDsn(report, envelope);
      case 'complaint':
        return this.takeComplaint(report, envelope);
    }
  }

  private async takeDsn(report: Extract<InboundReport, { kind: 'dsn' }>, envelope: InboundEnvelope): Promise<IntakeOutcome> {
    const failed = report.recipients.filter((r) => r.action === 'failed');
    if (failed.length === 0) {
      // RFC 3464 §2.3.3: delayed, delivered, relayed, expanded are not final failures. SendGrid
      // records nothing for them either; the log keeps them.
      return { kind: 'ignored', why: `a delivery status notification with actions ${[...new Set(report.recipients.map((r) => r.action))].join(', ')}` };
    }
    const { verified, byMessageId } = await this.messagesOf([...envelope.to, report.original.returnPath], report.original.messageId);
    const events: BounceEvent[] = [];
    const now = this.now();
    const emit = (message: MessageSummary, block: RecipientStatus): void => {
      const permanent = block.status.startsWith('5');
      events.push({
        type: 'bounce',
        id: eventIdOf(message.msgId, 'bounce', message.toEmail),
        accountId: message.accountId,
        messageId: message.msgId,
        email: message.toEmail,
        timestamp: now,
        // A 4.x.x with Action: failed is a server giving up after its retries (e.g. 4.4.7): not
        // delivered, but nothing says the address is bad, so it suppresses nothing.
        bounceType: permanent ? bounceTypeOf(block.status) : 'bounce',
        reason: block.reason,
        status: block.status,
        // 0: this bounce did not come from one of Herald's own attempts.
        attempt: 0,
        mxServer: block.mxServer ?? envelope.peer,
      });
    };
    for (const message of verified) {
      // One message has one recipient; an MTA may have rewritten it (aliases, forwarding), so a
      // return path that checks out takes the first failure when no block names it.
      const block = failed.find((r) => sameAddress(r.recipient, message.toEmail)) ?? (verified.length === 1 ? failed[0]! : undefined);
      if (block) emit(message, block);
    }
    if (byMessageId && !verified.some((m) => m.msgId === byMessageId.msgId)) {
      const block = failed.find((r) => sameAddress(r.recipient, byMessageId.toEmail));
      if (block) emit(byMessageId, block);
    }
    if (events.length === 0) return { kind: 'ignored', why: 'a bounce for no message Herald sent' };
    return { kind: 'recorded', events, fresh: await this.engagement.record(events) };
  }

  private async takeComplaint(report: Extract<InboundReport, { kind: 'complaint' }>, envelope: InboundEnvelope): Promise<IntakeOutcome> {
    // RFC 5965 §7.3: abuse is a recipient's complaint; fraud, virus, other, not-spam and
    // auth-failure (RFC 6591) say nothing about whether the recipient wants the mail.
    if (report.feedbackType !== 'abuse') return { kind: 'ignored', why: `a feedback report of type ${report.feedbackType}` };
    const { verified, byMessageId } = await this.messagesOf(
      [report.originalMailFrom, report.original.returnPath, ...envelope.to],
      report.original.messageId,
    );
    // Feedback loops often redact the recipient (RFC 6590), so the Message-ID alone places it.
    const messages = verified.length > 0 ? verified : byMessageId ? [byMessageId] : [];
    const now = this.now();
    const events: SpamReportEvent[] = messages.map((m) => ({
      type: 'spamreport',
      id: eventIdOf(m.msgId, 'spamreport', m.toEmail),
      accountId: m.accountId,
      messageId: m.msgId,
      email: m.toEmail,
      timestamp: now,
    }));
    if (events.length === 0) return { kind: 'ignored', why: 'a complaint about no message Herald sent' };
    return { kind: 'recorded', events, fresh: await this.engagement.record(events) };
  }

  /** The messages named by valid return paths among `addresses`, and the one `messageId` names. */
  private async messagesOf(addresses: (string | null)[], messageId: string | null): Promise<{ verified: MessageSummary[]; byMessageId: MessageSummary | null }> {
    const tokened = new Set<string>();
    for (const a of addresses) {
      if (a === null) continue;
      const parsed = this.returnPaths.parse(a);
      if (parsed.kind === 'token') tokened.add(parsed.messageId);
    }
    const fallback = messageId ? HERALD_MESSAGE_ID.exec(messageId)?.[1] ?? null : null;
    const ids = [...tokened, ...(fallback && !tokened.has(fallback) ? [fallback] : [])];
    if (ids.length === 0) return { verified: [], byMessageId: null };
    const found = await this.activity.findMessages(ids);
    const verified = [...tokened].map((id) => found.get(id)).filter((m): m is MessageSummary => m !== undefined);
    if (verified.length < tokened.size) this.log.info({ missing: [...tokened].filter((id) => !found.has(id)) }, 'a return path names a message no longer stored');
    return { verified, byMessageId: fallback ? found.get(fallback) ?? null : null };
  }
}

/** A stable event id (SendGrid's sg_event_id) for what one report says about one message. */
export function eventIdOf(messageId: string, kind: 'bounce' | 'spamreport', recipient: string): string {
  return createHash('sha256').update(`inbound\0${kind}\0${messageId}\0${recipient.toLowerCase()}`).digest().subarray(0, 16).toString('base64url');
}

function sameAddress(a: string | null, b: string): boolean {
  return a !== null && a.toLowerCase() === b.toLowerCase();
}
