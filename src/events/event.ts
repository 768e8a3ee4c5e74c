import { sortableId } from '../ops/random-pool.js';

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

/** Where a recipient's action came from: the user agent and address of the request, when known. */
interface RecipientAction extends EventBase {
  useragent: string | null;
  ip: string | null;
}
export interface OpenEvent extends RecipientAction {
  type: 'open';
  /** SendGrid's `sg_machine_open`: fetched by a privacy proxy or scanner, not seen by a person. */
  machineOpen: boolean;
}
export interface ClickEvent extends RecipientAction {
  type: 'click';
  /** The original link, as it was in the message. */
  url: string;
  /** SendGrid's `url_offset`: which link of which part (0-based). */
  urlOffset: { index: number; type: 'html' | 'text' };
}
export interface UnsubscribeEvent extends RecipientAction {
  type: 'unsubscribe';
}
export interface GroupUnsubscribeEvent extends RecipientAction {
  type: 'group_unsubscribe';
  asmGroupId: number;
}
export interface GroupResubscribeEvent extends RecipientAction {
  type: 'group_resubscribe';
  asmGroupId: number;
}
export interface SpamReportEvent extends EventBase {
  type: 'spamreport';
}

/** Everything that happens to a message. The same type is stored, queried and sent to webhooks. */
export type HeraldEvent =
  | ProcessedEvent
  | DeliveredEvent
  | DeferredEvent
  | BounceEvent
  | DroppedEvent
  | OpenEvent
  | ClickEvent
  | UnsubscribeEvent
  | GroupUnsubscribeEvent
  | GroupResubscribeEvent
  | SpamReportEvent;
export type EventType = HeraldEvent['type'];

/** Outcome events close a message's life in the queue. */
export type FinalEvent = DeliveredEvent | BounceEvent | DroppedEvent;

/**
 * What happens after a message has left the queue: the recipient's opens, clicks, unsubscribes and
 * complaints, and bounces that arrive later as delivery status notifications.
 */
export type EngagementEvent = OpenEvent | ClickEvent | UnsubscribeEvent | GroupUnsubscribeEvent | GroupResubscribeEvent | SpamReportEvent | BounceEvent;

/** An event's id (`sg_event_id`): time-ordered, see `sortableId`. */
export function newEventId(): string {
  return sortableId();
}

/** SendGrid's Email Activity status for a message whose last delivery event is `type`. */
export function activityStatus(type: EventType): 'processed' | 'delivered' | 'not_delivered' {
  switch (type) {
    case 'delivered':
    case 'open':
    case 'click':
    case 'unsubscribe':
    case 'group_unsubscribe':
    case 'group_resubscribe':
    case 'spamreport':
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
