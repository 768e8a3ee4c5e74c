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
  return {
    ...(JSON.parse(row.data) as object),
    id: row.id,
    accountId: row.account_id,
    messageId: row.message_id,
    type: row.type,
    timestamp: row.timestamp,
  } as HeraldEvent;
}
