import { randomView } from '../ops/random-pool.js';

interface EventBase {
  /** Stable id (SendGrid's sg_event_id): consumers deduplicate on it. */
  id: string;
  accountId: string;
  messageId: string;
  /** The recipient. */
  email: string;
  /** Epoch ms. */
  timestamp: number;
}

export interface ProcessedEvent extends EventBase {
  type: 'processed';
}
export interface DeliveredEvent extends EventBase {
  type: 'delivered';
  response: string;
  attempt: number;
  mxServer: string | null;
}
export interface DeferredEvent extends EventBase {
  type: 'deferred';
  response: string;
  attempt: number;
  /** Epoch ms of the next attempt. */
  nextAttemptAt: number;
  mxServer: string | null;
}
export interface BounceEvent extends EventBase {
  type: 'bounce';
  /** SendGrid's bounce classification: `bounce` (the address) or `blocked` (the sender or content). */
  bounceType: 'bounce' | 'blocked';
  reason: string;
  /** Enhanced status code (RFC 3463), e.g. 5.1.1. */
  status: string;
  attempt: number;
  mxServer: string | null;
}
export interface DroppedEvent extends EventBase {
  type: 'dropped';
  reason: string;
}

/** Everything that happens to a message. The same type is stored, queried and sent to webhooks. */
export type HeraldEvent = ProcessedEvent | DeliveredEvent | DeferredEvent | BounceEvent | DroppedEvent;
export type EventType = HeraldEvent['type'];

/** Outcome events close a message's life in the queue. */
export type FinalEvent = DeliveredEvent | BounceEvent | DroppedEvent;

export function newEventId(): string {
  return randomView(16).toString('base64url');
}

/** SendGrid's Email Activity status for a message whose last delivery event is `type`. */
export function activityStatus(type: EventType): 'processed' | 'delivered' | 'not_delivered' {
  switch (type) {
    case 'delivered':
      return 'delivered';
    case 'bounce':
    case 'dropped':
      return 'not_delivered';
    default:
      return 'processed';
  }
}

/** Event names in SendGrid's Email Activity API differ from the webhook's for a few types. */
export function activityEventName(type: EventType): string {
  return type === 'bounce' ? 'bounced' : type;
}
