import { field, fieldGroups, parseFields, parseMime, splitHead, walk, type HeaderFields, type MimeNode } from './mime-tree.js';

/** One recipient's block of a delivery status notification (RFC 3464 §2.3). */
export interface RecipientStatus {
  /** Final-Recipient (or Original-Recipient), the address only; null when the report names none. */
  recipient: string | null;
  /** RFC 3464 §2.3.3: failed, delayed, delivered, relayed or expanded. */
  action: string;
  /** Enhanced status code (RFC 3463), e.g. 5.1.1. */
  status: string;
  /** The remote server's reply (Diagnostic-Code without its type), else a description of the status. */
  reason: string;
  /** Remote-MTA, else the report's Reporting-MTA; null when it names neither. */
  mxServer: string | null;
}

/** What the returned copy of the original message (or its header) says about it. */
export interface OriginalMessage {
  /** The Message-ID, without angle brackets. */
  messageId: string | null;
  /** The Return-Path a receiving MTA wrote (the VERP address the message was sent with). */
  returnPath: string | null;
}

/** What an inbound message is, as far as bounce and complaint handling goes. */
export type InboundReport =
  | { kind: 'dsn'; recipients: RecipientStatus[]; original: OriginalMessage }
  | { kind: 'complaint'; feedbackType: string; originalMailFrom: string | null; originalRcptTo: string | null; original: OriginalMessage }
  | { kind: 'auto-reply'; why: string }
  | { kind: 'other'; why: string }
  | { kind: 'malformed'; why: string };

const STATUS_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_PARTS = new Set(['message/rfc822', 'message/global', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global-headers']);
const ENHANCED = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;

/** Reads a received message: a DSN, an ARF complaint, an automatic reply or something else. */
export function readReport(raw: Buffer): InboundReport {
  const root = parseMime(raw);
  const nodes = [...walk(root)];
  const reports = nodes.filter((n) => n.contentType === 'multipart/report');
  const reportType = (n: MimeNode): string => (n.params['report-type'] ?? '').toLowerCase();

  const statusPart = nodes.find((n) => STATUS_PARTS.has(n.contentType));
  if (statusPart) return readDsn(statusPart, originalOf(nodes));
  if (reports.some((r) => reportType(r) === 'delivery-status')) return { kind: 'malformed', why: 'a delivery-status report without a message/delivery-status part' };

  const feedbackPart = nodes.find((n) => n.contentType === 'message/feedback-report');
  if (feedbackPart) return readFeedback(feedbackPart, originalOf(nodes));
  if (reports.some((r) => reportType(r) === 'feedback-report')) return { kind: 'malformed', why: 'a feedback report without a message/feedback-report part' };

  const qmail = readQmailBounce(nodes);
  if (qmail) return qmail;
  const auto = autoReply(root.headers);
  if (auto) return { kind: 'auto-reply', why: auto };
  if (reports.length > 0) return { kind: 'other', why: `a report of type ${reportType(reports[0]!) || '(none)'}` };
  return { kind: 'other', why: 'not a delivery status notification or feedback report' };
}

/** RFC 3464 §2.2-2.3: a per-message group, then one group per recipient. */
function readDsn(part: MimeNode, original: OriginalMessage): InboundReport {
  const groups = fieldGroups(part.body);
  const perMessage: HeaderFields = groups[0] && !field(groups[0], 'final-recipient') && !field(groups[0], 'action') ? groups[0] : [];
  const reportingMta = typed(field(perMessage, 'reporting-mta'));
  const recipients: RecipientStatus[] = [];
  for (const g of groups) {
    if (g === perMessage) continue;
    const action = field(g, 'action')?.toLowerCase().split(/[\s(]/)[0];
    if (!action) continue;
    const diagnostic = typed(field(g, 'diagnostic-code'));
    const statusField = field(g, 'status');
    const status = ENHANCED.exec(statusField ?? '')?.[0] ?? ENHANCED.exec(diagnostic ?? '')?.[0] ?? statusFromReply(diagnostic ?? '', action === 'failed' ? '5' : '4');
    recipients.push({
      recipient: address(field(g, 'final-recipient')) ?? address(field(g, 'original-recipient')),
      action,
      status,
      reason: diagnostic ?? `${action}: status ${status}`,
      mxServer: typed(field(g, 'remote-mta')) ?? reportingMta,
    });
  }
  if (recipients.length === 0) return { kind: 'malformed', why: 'a delivery status notification without a per-recipient Action field' };
  return { kind: 'dsn', recipients, original };
}

/** RFC 5965 §3.1. */
function readFeedback(part: MimeNode, original: OriginalMessage): InboundReport {
  const fields = parseFields(part.body.toString('utf8'));
  const feedbackType = field(fields, 'feedback-type')?.toLowerCase().trim();
  if (!feedbackType) return { kind: 'malformed', why: 'a feedback report without Feedback-Type' };
  return {
    kind: 'complaint',
    feedbackType,
    originalMailFrom: address(field(fields, 'original-mail-from')),
    originalRcptTo: address(field(fields, 'original-rcpt-to')),
    original,
  };
}

/** The returned message or header (RFC 3464 §2, RFC 5965 §2 item c), if the report has one. */
function originalOf(nodes: MimeNode[]): OriginalMessage {
  const part = nodes.find((n) => ORIGINAL_PARTS.has(n.contentType));
  if (!part) return { messageId: null, returnPath: null };
  return originalFrom(parseFields(splitHead(part.body).head.toString('latin1')));
}

function originalFrom(headers: HeaderFields): OriginalMessage {
  const id = field(headers, 'message-id');
  return { messageId: id ? /<([^<>\s]+)>/.exec(id)?.[1] ?? id.trim() : null, returnPath: address(field(headers, 'return-path')) };
}

/**
 * qmail's bounce format (QSBMF, cr.yp.to/proto/qsbmf.txt) and Yahoo's variant of it, still sent
 * in place of a DSN: an introduction ("Hi. This is the qmail-send program at <host>", or Yahoo's
 * "Sorry, we were unable to deliver your message"), one paragraph per failed recipient starting
 * `<address>:`, then a copy of the message after "--- Below this line".
 */
function readQmailBounce(nodes: MimeNode[]): InboundReport | null {
  const text = nodes.find((n) => n.contentType === 'text/plain' && n.parts.length === 0);
  if (!text) return null;
  const body = text.body.toString('utf8').replace(/\r\n/g, '\n');
  const qmail = /^Hi\. This is the qmail-send program at ([A-Za-z0-9.-]+?)\.?$/m.exec(body);
  const yahoo = /^Sorry, we were unable to deliver your message to the following address/m.test(body);
  if (!(qmail && /permanent error|wasn't able to deliver/i.test(body)) && !yahoo) return null;
  const cut = body.search(/^--- (Below this line|Enclosed are the original headers)/m);
  const report = cut >= 0 ? body.slice(0, cut) : body;
  const copy = cut >= 0 ? body.slice(body.indexOf('\n', cut) + 1).replace(/^\n+/, '') : '';
  const recipients: RecipientStatus[] = [];
  for (const paragraph of report.split(/\n\s*\n/)) {
    const m = /^<([^<>\s]+@[^<>\s]+)>:\s*([\s\S]*)$/.exec(paragraph.trim());
    if (!m) continue;
    const said = /Remote host said:\s*([\s\S]*)/i.exec(m[2]!)?.[1] ?? m[2]!;
    const reason = said.replace(/\s+/g, ' ').trim();
    // Yahoo ends the reason with the name of the server that refused: "... [-5] - mta1047.mail.gq1.yahoo.com".
    const host = qmail?.[1] ?? / - ([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/.exec(reason)?.[1] ?? null;
    recipients.push({ recipient: m[1]!, action: 'failed', status: ENHANCED.exec(reason)?.[0] ?? statusFromReply(reason, '5'), reason, mxServer: host });
  }
  if (recipients.length === 0) return { kind: 'malformed', why: 'a qmail-style bounce without a recipient paragraph' };
  return { kind: 'dsn', recipients, original: originalFrom(parseFields(splitHead(Buffer.from(copy)).head.toString('latin1'))) };
}

/**
 * A status for a reply without an enhanced code (RFC 3463 §2): its class from the reply code,
 * and 5.1.1 when the text says the mailbox does not exist (so it suppresses as a bad address).
 */
function statusFromReply(reply: string, fallbackClass: '4' | '5'): string {
  const code = /\b([245])\d\d\b/.exec(reply)?.[1] ?? fallbackClass;
  if (code === '5' && /user unknown|unknown user|no such (user|mailbox|recipient)|doesn't have an? .*account|does not exist|mailbox (unavailable|not found)|invalid (recipient|mailbox)|recipient rejected/i.test(reply)) return '5.1.1';
  return `${code}.0.0`;
}

/** RFC 3834 §5 (Auto-Submitted) and the older marks of vacation and out-of-office replies. */
function autoReply(headers: HeaderFields): string | null {
  const submitted = field(headers, 'auto-submitted');
  if (submitted && !/^no\b/i.test(submitted)) return `Auto-Submitted: ${submitted}`;
  if (field(headers, 'x-autoreply') || field(headers, 'x-autorespond')) return 'X-Autoreply';
  const precedence = field(headers, 'precedence');
  if (precedence && /auto_reply|bulk|junk|list/i.test(precedence)) return `Precedence: ${precedence}`;
  const subject = field(headers, 'subject') ?? '';
  if (/^(auto(matic)?[ -]?(reply|response)|out of (the )?office|auto:)/i.test(subject)) return `Subject: ${subject}`;
  return null;
}

/** `rfc822; Ann@Example.com` → `Ann@Example.com`; also strips angle brackets. */
function address(value: string | null): string | null {
  const v = typed(value);
  if (!v) return null;
  const inner = /<([^<>]*)>/.exec(v)?.[1] ?? v;
  const trimmed = inner.trim();
  return trimmed.includes('@') ? trimmed : null;
}

/** Strips the type of a typed field (RFC 3464 §2.1.2, `dns; mx.example.com` → `mx.example.com`). */
function typed(value: string | null): string | null {
  if (value === null) return null;
  const semi = value.indexOf(';');
  const v = (semi >= 0 && /^[\w-]+$/.test(value.slice(0, semi).trim()) ? value.slice(semi + 1) : value).trim();
  return v === '' ? null : v;
}
