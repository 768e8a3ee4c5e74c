// Rows of the webhook tables, read the same way in every backend.
import type { WebhookEventType } from '../webhooks/webhook-events.js';
import type { DeliveryRecord, WebhookEndpoint } from '../webhooks/webhook-store.js';

export interface EndpointRow {
  id: string;
  account_id: string;
  url: string;
  enabled: number | boolean;
  event_types: string;
  friendly_name: string | null;
  public_key: string | null;
  private_key: string | null;
  created_at: number;
  updated_at: number;
  attempts: number;
}

export function rowToEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    accountId: r.account_id,
    url: r.url,
    enabled: Boolean(r.enabled),
    eventTypes: JSON.parse(r.event_types) as WebhookEventType[],
    friendlyName: r.friendly_name,
    publicKey: r.public_key,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export interface DeliveryRow {
  attempted_at: number;
  outcome: DeliveryRecord['outcome'];
  events: number;
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export function rowToDelivery(r: DeliveryRow): DeliveryRecord {
  return { attemptedAt: r.attempted_at, outcome: r.outcome, events: r.events, status: r.status, error: r.error, durationMs: r.duration_ms };
}

export interface OutboxRow {
  seq: number;
  event_id: string;
  payload: string;
  enqueued_at: number;
}

/** The outbox and deliveries columns that are the same in every backend's SQL. */
export const ENDPOINT_COLUMNS = 'id, account_id, url, enabled, event_types, friendly_name, public_key, private_key, created_at, updated_at, attempts';
