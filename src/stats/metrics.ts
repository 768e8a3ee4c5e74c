import type { HeraldEvent } from '../events/event.js';
import { DROP_REASONS } from '../suppressions/auto-suppress.js';

/**
 * The counters Herald keeps, under SendGrid's metric names (Stats API reference, "Retrieve global
 * email statistics"; "Retrieve email statistics by mailbox provider").
 */
export const STATS_METRICS = [
  'requests',
  'processed',
  'delivered',
  'deferred',
  'bounces',
  'bounce_drops',
  'blocks',
  'opens',
  'unique_opens',
  'clicks',
  'unique_clicks',
  'unsubscribes',
  'unsubscribe_drops',
  'spam_reports',
  'spam_report_drops',
  'invalid_emails',
  'drops',
] as const;
export type StatsMetric = (typeof STATS_METRICS)[number];

/** What `GET /v3/stats` and the category endpoints return per entry: SendGrid's sixteen (no `drops`). */
export const GLOBAL_METRICS: readonly StatsMetric[] = STATS_METRICS.filter((m) => m !== 'drops');

/** What `GET /v3/mailbox_providers/stats` returns per entry, as SendGrid's advanced stats do. */
export const PROVIDER_METRICS: readonly StatsMetric[] = [
  'blocks',
  'bounces',
  'clicks',
  'deferred',
  'delivered',
  'drops',
  'opens',
  'processed',
  'requests',
  'spam_reports',
  'unique_clicks',
  'unique_opens',
];

export function isStatsMetric(value: string): value is StatsMetric {
  return (STATS_METRICS as readonly string[]).includes(value);
}

/** One metric an event adds 1 to; `unique` ones count only for the first such event of a message. */
export interface EventMetric {
  metric: StatsMetric;
  unique: boolean;
}

/**
 * The metrics one event counts in. Every message Herald accepts gets a `processed` event at once
 * (nothing is dropped at accept), so `requests` and `processed` move together. A drop counts in
 * `drops` and, by the reason Herald wrote (DROP_REASONS, SendGrid's reason texts), in the list's
 * own drop metric; a bounce SendGrid classifies as `blocked` counts as a block, not a bounce.
 */
export function metricsOf(event: HeraldEvent): EventMetric[] {
  const once = (metric: StatsMetric): EventMetric => ({ metric, unique: false });
  switch (event.type) {
    case 'processed':
      return [once('requests'), once('processed')];
    case 'delivered':
      return [once('delivered')];
    case 'deferred':
      return [once('deferred')];
    case 'bounce':
      return [once(event.bounceType === 'blocked' ? 'blocks' : 'bounces')];
    case 'dropped': {
      const byReason = DROP_METRICS.get(event.reason);
      return byReason ? [once('drops'), once(byReason)] : [once('drops')];
    }
    case 'open':
      return [once('opens'), { metric: 'unique_opens', unique: true }];
    case 'click':
      return [once('clicks'), { metric: 'unique_clicks', unique: true }];
    case 'unsubscribe':
    case 'group_unsubscribe':
      return [once('unsubscribes')];
    case 'spamreport':
      return [once('spam_reports')];
    case 'group_resubscribe':
      return [];
  }
}

const DROP_METRICS = new Map<string, StatsMetric>([
  [DROP_REASONS.bounces, 'bounce_drops'],
  [DROP_REASONS.spam_reports, 'spam_report_drops'],
  [DROP_REASONS.unsubscribes, 'unsubscribe_drops'],
  [DROP_REASONS.invalid_emails, 'invalid_emails'],
]);
