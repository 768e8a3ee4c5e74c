import type { StatsMetric } from './metrics.js';

/** How counters are split: the whole account, per category, or per mailbox provider. */
export type StatsDimension = 'global' | 'category' | 'mailbox_provider';

/** What one event adds: 1 to `metric` on its UTC day, for its account, categories and provider. */
export interface StatsTally {
  accountId: string;
  /** Days since 1970-01-01, UTC. */
  day: number;
  metric: StatsMetric;
  categories: readonly string[];
  provider: string;
  /** Set for unique opens and clicks: counts only the first time this message reaches `metric`. */
  uniqueFor: string | null;
}

/** One stored counter. */
export interface StatsCounter {
  accountId: string;
  dimension: StatsDimension;
  /** '' for `global`; the category or provider name otherwise. */
  name: string;
  day: number;
  metric: StatsMetric;
  count: number;
}

export interface StatsReadQuery {
  accountId: string;
  dimension: StatsDimension;
  /** Names to read; null reads every name (of `category` or `mailbox_provider`). Ignored for `global`. */
  names: readonly string[] | null;
  /** Inclusive day range (days since the epoch). */
  fromDay: number;
  toDay: number;
}

/** The right to project, held by one process at a time in a cluster. */
export interface ProjectionLease {
  /** False once the lease was lost (e.g. its connection dropped). */
  held(): boolean;
  release(): Promise<void>;
}

/**
 * The stats port: per (account, day, dimension, name, metric) counters kept by the stats projector
 * from the event log, with the log position they cover. Counters and position move in one
 * transaction, so a restart neither loses nor counts twice.
 */
export interface StatsStore {
  /** The seq of the last event counted (0 before any). */
  position(): Promise<number>;
  /**
   * Counts `tallies` and moves the position from `from` to `to`, in one transaction. Returns false,
   * counting nothing, when the position is no longer `from` (another projector got there first).
   */
  advance(from: number, to: number, tallies: readonly StatsTally[]): Promise<boolean>;
  /** Counters in the range, with a count above 0; unordered. */
  read(query: StatsReadQuery): Promise<StatsCounter[]>;
  /**
   * Takes the right to project (one process of a cluster at a time); null when another process
   * holds it. Correctness does not depend on it (advance compares and sets); it saves the others
   * the work.
   */
  lead(): Promise<ProjectionLease | null>;
}

/** A counter's identity, as one string (the fields cannot contain NUL: names are checked). */
function counterKey(c: Omit<StatsCounter, 'count'>): string {
  return `${c.accountId}\0${c.dimension}\0${c.name}\0${c.day}\0${c.metric}`;
}

/**
 * The counter increments of a batch of tallies, summed per counter: one row per counter lets an
 * adapter write the batch with one upsert each (PostgreSQL refuses two updates of a row in one
 * INSERT ... ON CONFLICT). `isNew(messageId, metric)` says whether a unique tally is the first of
 * its message; a second unique tally of the same message in the batch never counts.
 */
export function sumTallies(tallies: readonly StatsTally[], isNew: (messageId: string, metric: StatsMetric) => boolean): StatsCounter[] {
  const sums = new Map<string, StatsCounter>();
  const seen = new Set<string>();
  const add = (c: Omit<StatsCounter, 'count'>) => {
    const key = counterKey(c);
    const found = sums.get(key);
    if (found) found.count++;
    else sums.set(key, { ...c, count: 1 });
  };
  for (const t of tallies) {
    if (t.uniqueFor !== null) {
      const key = `${t.uniqueFor}\0${t.metric}`;
      if (seen.has(key) || !isNew(t.uniqueFor, t.metric)) continue;
      seen.add(key);
    }
    add({ accountId: t.accountId, dimension: 'global', name: '', day: t.day, metric: t.metric });
    for (const name of new Set(t.categories)) add({ accountId: t.accountId, dimension: 'category', name, day: t.day, metric: t.metric });
    add({ accountId: t.accountId, dimension: 'mailbox_provider', name: t.provider, day: t.day, metric: t.metric });
  }
  return [...sums.values()];
}

/** The unique (message, metric) pairs a batch asks about, each once. */
export function uniqueCandidates(tallies: readonly StatsTally[]): { messageId: string; metric: StatsMetric }[] {
  const out = new Map<string, { messageId: string; metric: StatsMetric }>();
  for (const t of tallies) if (t.uniqueFor !== null) out.set(`${t.uniqueFor}\0${t.metric}`, { messageId: t.uniqueFor, metric: t.metric });
  return [...out.values()];
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Days since the epoch of an instant, UTC. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}
