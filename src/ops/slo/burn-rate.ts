import type { AlertSeverity } from './slo-store.js';

/** Counts are kept per minute: fine enough for a 5-minute window, 43 200 rows per SLO for 30 days. */
export const BUCKET_MS = 60 * 1000;

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;

/** The windows the alerting rules look at, by the names used in metrics and the API. */
export const ALERT_WINDOWS = {
  '5m': 5 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': HOUR,
  '2h': 2 * HOUR,
  '6h': 6 * HOUR,
  '1d': 24 * HOUR,
  '3d': 72 * HOUR,
} as const;
export type AlertWindow = keyof typeof ALERT_WINDOWS;

/** One multi-window rule: it holds while the burn rate exceeds `rate` over both windows. */
export interface BurnRateRule {
  severity: AlertSeverity;
  long: AlertWindow;
  short: AlertWindow;
  rate: number;
}

/**
 * Multi-window, multi-burn-rate alerts, as recommended in the Google SRE workbook, ch. 5
 * ("Alerting on SLOs", table 5-8). The long window says enough budget is being spent; the short
 * one (1/12 of it) says it is still being spent now, so an alert clears soon after the problem ends.
 */
export const BURN_RATE_RULES: readonly BurnRateRule[] = [
  { severity: 'page', long: '1h', short: '5m', rate: 14.4 }, // 2% of a 30-day budget in an hour
  { severity: 'page', long: '6h', short: '30m', rate: 6 }, // 5% in six hours
  { severity: 'ticket', long: '1d', short: '2h', rate: 3 }, // 10% in a day
  { severity: 'ticket', long: '3d', short: '6h', rate: 1 }, // 10% in three days
];

/**
 * A firing alert holds until no rule of its severity holds at this share of its rate: a burn
 * rate hovering at the threshold does not fire and clear over and over.
 */
export const CLEAR_FACTOR = 0.9;

/** How fast the error budget is spent: 1 spends it exactly over the SLO window. 0 without events. */
export function burnRate(good: number, total: number, objective: number): number {
  if (total <= 0) return 0;
  const bad = Math.max(0, total - Math.max(0, good));
  return Math.min(bad, total) / total / (1 - objective);
}

/** Share of the window's error budget left: 1 untouched, 0 spent, below 0 overspent. */
export function errorBudgetRemaining(good: number, total: number, objective: number): number {
  return 1 - burnRate(good, total, objective);
}

/** The start of the bucket holding `at`. */
export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS) * BUCKET_MS;
}
