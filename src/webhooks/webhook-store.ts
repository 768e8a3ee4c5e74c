import type { WebhookEventType } from './webhook-events.js';

/** One Event Webhook endpoint of an account. */
export interface WebhookEndpoint {
  /** Opaque id, as SendGrid's multi-webhook API gives (a UUID). */
  id: string;
  accountId: string;
  url: string;
  enabled: boolean;
  /** The event types it wants (SendGrid's switch names). */
  eventTypes: WebhookEventType[];
  friendlyName: string | null;
  /** Base64 DER SPKI of its signing key; null when signing is off. */
  publicKey: string | null;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

/** What a create or update sets; an update leaves out what it does not change. */
export interface EndpointSettings {
  url: string;
  enabled: boolean;
  eventTypes: WebhookEventType[];
  friendlyName: string | null;
}

/** An enabled endpoint as fan-out needs it. */
export interface FanOutTarget {
  id: string;
  accountId: string;
  eventTypes: readonly WebhookEventType[];
}

/** One event waiting for one endpoint. */
export interface OutboxEntry {
  endpointId: string;
  eventId: string;
  /** The event as the webhook posts it (JSON text of one SendGrid event object). */
  payload: string;
}

/** A batch leased to one dispatcher: the oldest waiting events of one endpoint, in order. */
export interface ClaimedBatch {
  endpoint: { id: string; accountId: string; url: string; /** PKCS#8 PEM, opened; null when unsigned. */ privateKeyPem: string | null };
  /** Failed attempts at this endpoint's head of line so far. */
  attempts: number;
  entries: { seq: number; eventId: string; payload: string; enqueuedAt: number }[];
}

export interface ClaimOptions {
  /** Most batches (endpoints) leased at once. */
  endpoints: number;
  /** Most events in one batch; an endpoint with this many waiting is due at once. */
  batchMaxEvents: number;
  /** An endpoint with fewer is due once its oldest waiting event is this old, ms. */
  batchWaitMs: number;
  leaseMs: number;
}

/** What became of a batch. */
export type BatchOutcome =
  /** Received (2xx): its events leave the outbox. */
  | { kind: 'delivered'; upToSeq: number }
  /**
   * Failed past the retry window: its events leave the outbox, reported lost, and so does every
   * other event of the endpoint queued before `enqueuedBefore` (past the window too), so a dead
   * endpoint's backlog never outgrows one window of events; the next batch waits until `retryAt`.
   */
  | { kind: 'dropped'; upToSeq: number; enqueuedBefore: number; retryAt: number }
  /** Failed: the endpoint's head of line waits until `retryAt`. */
  | { kind: 'failed'; retryAt: number };

/** One attempt, for GET /v1/webhooks/{id}/deliveries. */
export interface DeliveryRecord {
  /** Epoch ms. */
  attemptedAt: number;
  outcome: 'delivered' | 'failed' | 'dropped';
  events: number;
  /** HTTP status, null when none came back. */
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** Most delivery records kept per endpoint; older ones are forgotten. */
export const DELIVERY_LOG_SIZE = 100;

/**
 * The webhook port: endpoints per account, and the durable dispatch state (the cursor into the
 * event log, an outbox per endpoint, leases, the deliveries log). Every endpoint verb is scoped
 * to one account; dispatch verbs take the time from the caller, so a test can drive the clock.
 */
export interface WebhookStore {
  /** Creates an endpoint; 'limit' when the account already has `max`. */
  create(accountId: string, settings: EndpointSettings, max: number, now: number): Promise<WebhookEndpoint | 'limit'>;
  /** The account's endpoints, oldest first (the first is the default one of /settings). */
  list(accountId: string): Promise<WebhookEndpoint[]>;
  get(accountId: string, id: string): Promise<WebhookEndpoint | null>;
  update(accountId: string, id: string, changes: Partial<EndpointSettings>, now: number): Promise<WebhookEndpoint | null>;
  /** Removes it with its waiting events and its deliveries log. */
  remove(accountId: string, id: string): Promise<boolean>;
  /** Turns signing on with a new key pair (sealed at rest), or off with null. */
  setSigningKey(accountId: string, id: string, key: { publicKey: string; privateKeyPem: string } | null, now: number): Promise<WebhookEndpoint | null>;
  /** The endpoint's signing key (PKCS#8 PEM, opened), to sign its test event; null when unsigned or not the account's. */
  signingKey(accountId: string, id: string): Promise<string | null>;
  /** The last `limit` attempts at the endpoint, newest first; null when it is not the account's. */
  deliveries(accountId: string, id: string, limit: number): Promise<DeliveryRecord[] | null>;

  /** Enabled endpoints of every account, for fan-out. */
  targets(): Promise<FanOutTarget[]>;
  /** How far fan-out has read the event log (0 at the start). */
  cursor(): Promise<number>;
  /**
   * Adds `entries` to the outboxes and moves the cursor from `from` to `to`, in one transaction;
   * false (and nothing written) when the cursor is no longer at `from` (another process did it).
   */
  fanOut(from: number, to: number, entries: readonly OutboxEntry[], now: number): Promise<boolean>;
  /**
   * Leases due batches: endpoints that are enabled, not leased, not waiting for a retry, and have
   * a full batch waiting or events older than batchWaitMs. Processes never lease the same one.
   */
  claim(owner: string, now: number, options: ClaimOptions): Promise<ClaimedBatch[]>;
  /**
   * Records what became of a leased batch and ends the lease. Returns how many events left the
   * outbox, or null (and changes nothing) when the lease was lost. A drop's record counts every
   * event it removed.
   */
  settle(owner: string, endpointId: string, outcome: BatchOutcome, record: DeliveryRecord): Promise<number | null>;
  /** Ends `owner`'s leases (every lease when null) so others may take them at once. */
  release(owner: string | null): Promise<void>;
  /** Enqueue time (epoch ms) of the oldest event waiting for an enabled endpoint; null when none. */
  oldestWaiting(): Promise<number | null>;
}
