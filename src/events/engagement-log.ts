import type { EngagementEvent } from './event.js';
import type { SuppressionList } from '../suppressions/suppression-store.js';
import { autoSuppression } from '../suppressions/auto-suppress.js';

/**
 * The engagement port: records what happens after a message left the queue (opens, clicks,
 * unsubscribes, complaints, late bounces), each event with its effects in the same transaction:
 * the message's counters and status, and the suppression it causes. An event whose id is already
 * stored is skipped with its effects, so a retried hit or a DSN received twice counts once.
 * Writes are durable: a recipient told "you are unsubscribed" stays unsubscribed.
 */
export interface EngagementLog {
  /** Records the events; returns those that were new (in the order given). */
  record(events: readonly EngagementEvent[]): Promise<EngagementEvent[]>;
}

/** What recording one engagement event changes besides the log. */
export interface EngagementEffect {
  /** Add 1 to the message's opens_count or clicks_count. */
  counter: 'opens_count' | 'clicks_count' | null;
  /** A late bounce closes the message as not delivered. */
  closesMessage: boolean;
  /** Put the recipient on this list (group_id 0 unless `group`). */
  suppress: { list: SuppressionList | 'group'; groupId: number; reason: string | null; status: string | null } | null;
  /** Take the recipient off this unsubscribe group. */
  resubscribeGroup: number | null;
}

/** The one place that says what each engagement event does; both backends apply it. */
export function engagementEffect(event: EngagementEvent): EngagementEffect {
  const none: EngagementEffect = { counter: null, closesMessage: false, suppress: null, resubscribeGroup: null };
  switch (event.type) {
    case 'open':
      return { ...none, counter: 'opens_count' };
    case 'click':
      return { ...none, counter: 'clicks_count' };
    case 'unsubscribe':
      return { ...none, suppress: { list: 'unsubscribes', groupId: 0, reason: null, status: null } };
    case 'group_unsubscribe':
      return { ...none, suppress: { list: 'group', groupId: event.asmGroupId, reason: null, status: null } };
    case 'group_resubscribe':
      return { ...none, resubscribeGroup: event.asmGroupId };
    case 'spamreport':
      return { ...none, suppress: { list: 'spam_reports', groupId: 0, reason: null, status: null } };
    case 'bounce': {
      const listed = autoSuppression(event);
      return { ...none, closesMessage: true, suppress: listed ? { list: listed.list, groupId: 0, reason: listed.reason, status: listed.status } : null };
    }
  }
}
