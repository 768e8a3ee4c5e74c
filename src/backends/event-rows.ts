import type { HeraldEvent } from '../events/event.js';

export interface EventRow {
  seq: number;
  id: string;
  account_id: string;
  message_id: string;
  type: string;
  timestamp: number;
  data: string;
}

/** Splits an event into its indexed columns and the rest, kept as JSON. */
export function eventToRow(event: HeraldEvent): Omit<EventRow, 'seq'> {
  const { id, accountId, messageId, type, timestamp, ...rest } = event;
  return { id, account_id: accountId, message_id: messageId, type, timestamp, data: JSON.stringify(rest) };
}

export function rowToEvent(row: EventRow): HeraldEvent {
  // JSON.parse makes a new object: the columns go onto it, rather than both into a third. Readers
  // of the log (stats, webhooks) turn every event of every message back into an object.
  const event = JSON.parse(row.data) as Record<string, unknown>;
  event.id = row.id;
  event.accountId = row.account_id;
  event.messageId = row.message_id;
  event.type = row.type;
  event.timestamp = row.timestamp;
  return event as unknown as HeraldEvent;
}
