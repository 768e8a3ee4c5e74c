import type { EventType, HeraldEvent } from '../events/event.js';
import type { MessageSummary } from '../events/event-log.js';

/**
 * The event-type switches of SendGrid's Event Webhook settings, in its names
 * (/v3/user/webhooks/event/settings). `bounce` covers bounces and blocks (`type`: bounce | blocked).
 */
export const WEBHOOK_EVENT_TYPES = [
  'group_resubscribe',
  'delivered',
  'group_unsubscribe',
  'spam_report',
  'bounce',
  'deferred',
  'unsubscribe',
  'processed',
  'open',
  'click',
  'dropped',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The settings switch that lets an event of `type` through. */
export function switchFor(type: EventType): WebhookEventType {
  return type === 'spamreport' ? 'spam_report' : type;
}

/**
 * One event as SendGrid's Event Webhook posts it ("Event Webhook Reference"): common fields, the
 * message's categories and unsubscribe group, its custom args flattened into the top level, and the
 * fields of the event's type. A custom arg never replaces one of SendGrid's own fields.
 */
export function webhookEvent(event: HeraldEvent, message: MessageSummary | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (message) for (const [k, v] of Object.entries(message.customArgs)) out[k] = v;
  out.email = event.email;
  out.timestamp = Math.floor(event.timestamp / 1000);
  out.event = event.type;
  out.sg_event_id = event.id;
  out.sg_message_id = event.messageId;
  if (message && message.categories.length > 0) out.category = [...message.categories];
  if (message && message.asmGroupId !== null) out.asm_group_id = message.asmGroupId;
  switch (event.type) {
    case 'processed':
    case 'spamreport':
      break;
    case 'delivered':
      out.response = event.response;
      break;
    case 'deferred':
      out.response = event.response;
      out.attempt = String(event.attempt);
      break;
    case 'bounce':
      out.reason = event.reason;
      out.status = event.status;
      out.type = event.bounceType;
      break;
    case 'dropped':
      out.reason = event.reason;
      break;
    case 'open':
      recipientAction(out, event);
      out.sg_machine_open = event.machineOpen;
      break;
    case 'click':
      recipientAction(out, event);
      out.url = event.url;
      out.url_offset = { index: event.urlOffset.index, type: event.urlOffset.type };
      break;
    case 'unsubscribe':
      recipientAction(out, event);
      break;
    case 'group_unsubscribe':
    case 'group_resubscribe':
      recipientAction(out, event);
      out.asm_group_id = event.asmGroupId;
      break;
  }
  return out;
}

function recipientAction(out: Record<string, unknown>, event: { useragent: string | null; ip: string | null }): void {
  if (event.useragent !== null) out.useragent = event.useragent;
  if (event.ip !== null) out.ip = event.ip;
}

/** SendGrid's sample for the test endpoint: one processed event for example@test.com. */
export function sampleEvent(nowMs: number): Record<string, unknown> {
  return { email: 'example@test.com', timestamp: Math.floor(nowMs / 1000), event: 'processed', sg_event_id: 'sample-event-id', sg_message_id: 'sample-message-id', category: ['test'] };
}
