import { HeraldError } from '../errors.js';
import { dayOf, type StatsCounter } from './stats-store.js';
import type { StatsMetric } from './metrics.js';

/**
 * The query parameters the Stats API shares (SendGrid: `start_date` required, `end_date` defaulting
 * to today, both YYYY-MM-DD; `aggregated_by` day, week or month) and the date buckets they make.
 * Days are UTC days: SendGrid's advanced stats take a `timezone`, which Herald does not support
 * (its counters are per UTC day) and ignores.
 */
export type Aggregation = 'day' | 'week' | 'month';

/** Longest range one request may cover, days (a year and a month: SendGrid keeps thirteen months). */
export const STATS_MAX_RANGE_DAYS = 397;

/** Most categories or mailbox providers one request may name (SendGrid: up to 10). */
export const STATS_MAX_NAMES = 10;

export interface StatsRange {
  fromDay: number;
  toDay: number;
  aggregatedBy: Aggregation;
}

type QueryValue = string | string[] | undefined;

function invalid(field: string, message: string): never {
  throw new HeraldError('HERALD_ERR_INVALID_FIELD', { field, message });
}

/** One value of a parameter that may be given once only. */
export function single(field: string, value: QueryValue): string | undefined {
  if (Array.isArray(value)) invalid(field, `${field} may be given once only.`);
  return value;
}

/** Every value of a repeatable parameter (`categories=a&categories=b`). */
export function many(value: QueryValue): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since the epoch of a YYYY-MM-DD date, or a 400 naming the field. */
export function parseDate(field: string, text: string): number {
  const m = DATE.exec(text);
  if (!m) invalid(field, `${field} must be a date in the format YYYY-MM-DD, e.g. 2026-01-31; got ${JSON.stringify(text.slice(0, 40))}.`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    invalid(field, `${field} ${text} is not a date that exists.`);
  }
  return dayOf(date.getTime());
}

/** YYYY-MM-DD of a day number. */
export function dateOf(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Reads start_date, end_date and aggregated_by; `today` is the UTC day end_date defaults to. */
export function parseRange(query: Record<string, QueryValue>, today: number): StatsRange {
  const start = single('start_date', query.start_date);
  if (start === undefined || start === '') throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field: 'start_date', message: 'start_date is required (YYYY-MM-DD).' });
  const fromDay = parseDate('start_date', start);
  const end = single('end_date', query.end_date);
  const toDay = end === undefined || end === '' ? today : parseDate('end_date', end);
  if (toDay < fromDay) invalid('end_date', `end_date (${dateOf(toDay)}) is before start_date (${dateOf(fromDay)}).`);
  if (toDay - fromDay + 1 > STATS_MAX_RANGE_DAYS) {
    invalid('end_date', `The range from start_date to end_date covers ${toDay - fromDay + 1} days; the most one request may cover is ${STATS_MAX_RANGE_DAYS}.`);
  }
  const by = single('aggregated_by', query.aggregated_by);
  if (by !== undefined && by !== 'day' && by !== 'week' && by !== 'month') {
    invalid('aggregated_by', `aggregated_by must be day, week or month; got ${JSON.stringify(by.slice(0, 40))}.`);
  }
  return { fromDay, toDay, aggregatedBy: by ?? 'day' };
}

/** The names a request lists in `field` (1 to STATS_MAX_NAMES, distinct, each 1 to 255 characters). */
export function parseNames(field: string, values: string[], required: boolean): string[] {
  if (values.length === 0 && required) throw new HeraldError('HERALD_ERR_MISSING_FIELD', { field, message: `${field} is required: give it once per name, e.g. ?${field}=a&${field}=b.` });
  const names = [...new Set(values)];
  if (names.length > STATS_MAX_NAMES) invalid(field, `At most ${STATS_MAX_NAMES} ${field} may be given; got ${names.length}.`);
  for (const name of names) {
    if (name.length === 0 || name.length > 255) invalid(field, `Each of ${field} must be 1 to 255 characters long.`);
    if (name.includes('\0')) invalid(field, `${field} may not contain NUL characters.`);
  }
  return names;
}

export interface Bucket {
  /** The bucket's date as SendGrid labels it: its first day within the range. */
  date: string;
  fromDay: number;
  toDay: number;
}

/**
 * The range cut into days, weeks or months. Weeks are ISO 8601 weeks, Monday to Sunday (SendGrid
 * numbers its weeks the ISO way); a bucket cut by the range's ends covers only the days inside it
 * and is labelled with its first one.
 */
export function bucketsOf(range: StatsRange): Bucket[] {
  const out: Bucket[] = [];
  let day = range.fromDay;
  while (day <= range.toDay) {
    const end = Math.min(range.toDay, lastDayOf(day, range.aggregatedBy));
    out.push({ date: dateOf(day), fromDay: day, toDay: end });
    day = end + 1;
  }
  return out;
}

function lastDayOf(day: number, by: Aggregation): number {
  if (by === 'day') return day;
  const date = new Date(day * 86_400_000);
  if (by === 'week') {
    const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
    return day + (6 - weekday);
  }
  const next = new Date(0);
  next.setUTCFullYear(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return dayOf(next.getTime()) - 1;
}

/** Metrics of one name (or of the account) per bucket, every metric present (0 when none). */
export type Series = Map<string, Record<string, number>[]>;

/**
 * Sums counters into buckets: for each name, one metrics object per bucket with every metric of
 * `metrics`, in order. Names without counters still get their zeros, as SendGrid lists every
 * requested category on every date.
 */
export function sumIntoBuckets(counters: readonly StatsCounter[], buckets: readonly Bucket[], names: readonly string[], metrics: readonly StatsMetric[]): Series {
  const zero = () => Object.fromEntries(metrics.map((m) => [m, 0])) as Record<string, number>;
  const series: Series = new Map(names.map((n) => [n, buckets.map(zero)]));
  for (const c of counters) {
    const row = series.get(c.name);
    if (!row || !(c.metric in row[0]!)) continue;
    const index = bucketIndex(buckets, c.day);
    if (index >= 0) row[index]![c.metric] = (row[index]![c.metric] ?? 0) + c.count;
  }
  return series;
}

function bucketIndex(buckets: readonly Bucket[], day: number): number {
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = buckets[mid]!;
    if (day < b.fromDay) hi = mid - 1;
    else if (day > b.toDay) lo = mid + 1;
    else return mid;
  }
  return -1;
}
