import type { HeraldEvent } from './event.js';
import type { ActivityFilter } from './activity-query.js';

/** One message as SendGrid's Email Activity API lists it. */
export interface MessageSummary {
  msgId: string;
  accountId: string;
  fromEmail: string;
  toEmail: string;
  subject: string;
  status: 'processed' | 'delivered' | 'not_delivered';
  lastEvent: HeraldEvent['type'];
  lastEventTime: number;
  categories: string[];
  customArgs: Record<string, string>;
  apiKeyId: string | null;
  templateId: string | null;
  opensCount: number;
  clicksCount: number;
  /** The unsubscribe group (`asm.group_id`), null when none. */
  asmGroupId: number | null;
}

export interface MessageDetail extends MessageSummary {
  events: HeraldEvent[];
}

/** The event log port: append-only, per account, readable in order from a cursor. */
export interface EventLog {
  /** Appends events; an event whose id is already stored is skipped (idempotent). */
  append(events: HeraldEvent[]): Promise<void>;
  /** Events after `cursor` (0 for the start) in append order, and the cursor to read on from. */
  readFrom(cursor: number, limit: number): Promise<{ events: HeraldEvent[]; cursor: number }>;
  /**
   * The cursor at the end of the log now: `readFrom(head())` returns only events appended after
   * this call (e.g. to count what happens over an interval, as `herald capacity` does).
   */
  head(): Promise<number>;
}

/** Email Activity queries: always scoped to one account. */
export interface ActivityStore {
  getMessage(accountId: string, msgId: string): Promise<MessageDetail | null>;
  queryMessages(accountId: string, filter: ActivityFilter | null, limit: number): Promise<MessageSummary[]>;
  /** The account's messages among `ids`, by id (ids of other accounts or of none are left out). */
  lookupMessages(accountId: string, ids: readonly string[]): Promise<Map<string, MessageSummary>>;
  /**
   * Messages among `ids` whatever their account, by id. Only for a caller that learned an id
   * outside any account's request and checked it first: the inbound receiver, after the HMAC of
   * a return path (message ids are unique across accounts). Never behind an API route.
   */
  findMessages(ids: readonly string[]): Promise<Map<string, MessageSummary>>;
}
