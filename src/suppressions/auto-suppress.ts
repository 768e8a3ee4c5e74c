import type { HeraldEvent } from '../events/event.js';

/**
 * Which list an outcome puts its recipient on, if any. A hard bounce of the address itself
 * (RFC 3463 §3.2, x.1.x: bad mailbox or domain) goes to bounces; a permanent refusal for policy or
 * content goes to blocks. Only a remote server's reply counts: a failure Herald had on its own
 * (e.g. 5.6.0, could not compose) has no mxServer and says nothing about the address. Expiry
 * (4.4.7) and deferrals are not permanent and add nothing.
 */
export function autoSuppression(event: HeraldEvent): { list: 'bounces' | 'blocks'; reason: string; status: string } | null {
  if (event.type !== 'bounce' || event.mxServer === null) return null;
  if (event.bounceType === 'bounce' && /^5\.1\.\d{1,3}$/.test(event.status)) return { list: 'bounces', reason: event.reason, status: event.status };
  if (event.bounceType === 'blocked' && event.status.startsWith('5.')) return { list: 'blocks', reason: event.reason, status: event.status };
  return null;
}

/** SendGrid's `dropped` reasons for each list that suppresses (Event Webhook reference). */
export const DROP_REASONS = {
  bounces: 'Bounced Address',
  spam_reports: 'Spam Reporting Address',
  invalid_emails: 'Invalid',
  unsubscribes: 'Unsubscribed Address',
  group: 'Unsubscribed Address',
} as const;
