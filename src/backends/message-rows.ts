import type { NewMessage } from '../message/mail-request.js';
import type { QueueEntry } from '../queue/queue.js';
import type { MessageSummary } from '../events/event-log.js';
import type { ActivityField } from '../events/activity-query.js';

// The messages table has the same columns in every backend; these map its rows both ways.

/** A row of the messages table (times in epoch ms; categories and custom args as JSON). */
export interface MessageRow {
  id: string;
  account_id: string;
  request_id: string;
  personalization_index: number;
  recipient: string;
  recipient_kind: NewMessage['recipientKind'];
  from_email: string;
  subject: string;
  categories: string;
  custom_args: string;
  api_key_id: string | null;
  template_id: string | null;
  asm_group_id: number | null;
  ready_at: number;
  expires_at: number;
  created_at: number;
}

export function messageToRow(m: NewMessage): Omit<MessageRow, never> {
  return {
    id: m.id,
    account_id: m.accountId,
    request_id: m.requestId,
    personalization_index: m.personalizationIndex,
    recipient: m.recipient,
    recipient_kind: m.recipientKind,
    from_email: m.fromEmail,
    subject: m.subject,
    categories: JSON.stringify(m.categories),
    custom_args: JSON.stringify(m.customArgs),
    api_key_id: m.apiKeyId,
    template_id: m.templateId,
    asm_group_id: m.asmGroupId,
    ready_at: m.readyAt,
    expires_at: m.expiresAt,
    created_at: m.createdAt,
  };
}

export function rowToMessage(r: MessageRow): NewMessage {
  return {
    id: r.id,
    accountId: r.account_id,
    requestId: r.request_id,
    personalizationIndex: r.personalization_index,
    recipient: r.recipient,
    recipientKind: r.recipient_kind,
    fromEmail: r.from_email,
    subject: r.subject,
    categories: JSON.parse(r.categories) as string[],
    customArgs: JSON.parse(r.custom_args) as Record<string, string>,
    apiKeyId: r.api_key_id,
    templateId: r.template_id,
    // Stored from migration 7 (SQLite) and 4 (PostgreSQL); older rows read as none.
    asmGroupId: r.asm_group_id ?? null,
    readyAt: r.ready_at,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
  };
}

/** The messages table's columns for each field of SendGrid's activity query language. */
export const ACTIVITY_COLUMNS: Record<ActivityField, string> = {
  to_email: 'recipient',
  from_email: 'from_email',
  subject: 'subject',
  status: 'status',
  msg_id: 'id',
  categories: 'categories',
  template_id: 'template_id',
  api_key_id: 'api_key_id',
  last_event_time: 'last_event_time',
  unique_args: 'custom_args',
};

/** The columns an activity summary reads. */
export interface SummaryRow {
  id: string;
  account_id: string;
  from_email: string;
  recipient: string;
  subject: string;
  status: MessageSummary['status'];
  last_event: MessageSummary['lastEvent'];
  last_event_time: number;
  categories: string;
  custom_args: string;
  api_key_id: string | null;
  template_id: string | null;
  opens_count: number;
  clicks_count: number;
  asm_group_id: number | null;
}

export function toSummary(row: SummaryRow): MessageSummary {
  return {
    msgId: row.id,
    accountId: row.account_id,
    fromEmail: row.from_email,
    toEmail: row.recipient,
    subject: row.subject,
    status: row.status,
    lastEvent: row.last_event,
    lastEventTime: row.last_event_time,
    categories: JSON.parse(row.categories) as string[],
    customArgs: JSON.parse(row.custom_args) as Record<string, string>,
    apiKeyId: row.api_key_id,
    templateId: row.template_id,
    opensCount: row.opens_count,
    clicksCount: row.clicks_count,
    asmGroupId: row.asm_group_id ?? null,
  };
}

/** A queue row joined with its message's recipient, as operators list it. */
export interface QueueEntryRow {
  message_id: string;
  account_id: string;
  recipient: string;
  destination: string;
  lease_owner: string | null;
  attempts: number;
  ready_at: number;
  created_at: number;
  last_response: string | null;
}

export function toQueueEntry(r: QueueEntryRow, now: number): QueueEntry {
  return {
    messageId: r.message_id,
    accountId: r.account_id,
    recipient: r.recipient,
    destination: r.destination,
    state: r.lease_owner !== null ? 'leased' : r.ready_at <= now ? 'ready' : 'scheduled',
    attempts: r.attempts,
    readyAt: r.ready_at,
    createdAt: r.created_at,
    lastResponse: r.last_response,
  };
}
