import type { DestinationDepth } from '../queue/queue.js';

/** What `herald capacity` reads at each end of its interval. */
export interface CapacitySample {
  /** Epoch ms. */
  at: number;
  depths: DestinationDepth[];
  /** Bytes the data directory's files take; null when the store is not a local directory (PostgreSQL). */
  dataBytes: number | null;
  /** The file system holding the data directory; null as above. */
  disk: { freeBytes: number; totalBytes: number } | null;
}

/** Events counted between the two samples, per destination. */
export interface Flows {
  accepted: Map<string, number>;
  delivered: Map<string, number>;
  /** Bounced or dropped: out of the queue, not delivered. */
  failed: Map<string, number>;
  /** Whether every event of the interval was counted (false: more than the command reads). */
  complete: boolean;
}

export interface DestinationForecast {
  destination: string;
  queued: number;
  ready: number;
  scheduled: number;
  leased: number;
  oldestAgeS: number | null;
  acceptedPerS: number;
  deliveredPerS: number;
  failedPerS: number;
  /** Change of its queue, messages per second (+ grows, − shrinks). */
  trendPerS: number;
  /** At this trend, when its queue is empty; null when it does not shrink. */
  emptyInS: number | null;
  /** When its oldest message expires (bounces undelivered, messageMaxAgeMs); null when empty. */
  oldestExpiresInS: number | null;
}

export interface CapacityReport {
  sampledAt: string;
  intervalS: number;
  queue: { queued: number; max: number; acceptedPerS: number; deliveredPerS: number; trendPerS: number; fullInS: number | null; emptyInS: number | null };
  destinations: DestinationForecast[];
  disk: { dataBytes: number; freeBytes: number; totalBytes: number; trendBytesPerS: number; fullInS: number | null } | null;
  eventsComplete: boolean;
}

const queued = (d: Pick<DestinationDepth, 'ready' | 'scheduled' | 'leased'>): number => d.ready + d.scheduled + d.leased;
const round = (n: number): number => Math.round(n * 100) / 100;
/** Seconds until a level `room` away is reached at `ratePerS`; null when the trend does not go there. */
const eta = (room: number, ratePerS: number): number | null => (ratePerS > 0 ? Math.max(0, Math.round(room / ratePerS)) : null);

/**
 * A linear forecast from two samples: each destination's queue, the whole queue against
 * `maxQueuedMessages` and the disk against its free space, each projected at the trend of the
 * interval. A short interval says what is happening now, not what a day will bring: it is a
 * prompt to look, not a plan.
 */
export function forecast(first: CapacitySample, second: CapacitySample, flows: Flows, settings: { maxQueuedMessages: number; messageMaxAgeMs: number }): CapacityReport {
  const seconds = Math.max(0.001, (second.at - first.at) / 1000);
  const before = new Map(first.depths.map((d) => [d.destination, queued(d)]));
  const names = new Set([...first.depths.map((d) => d.destination), ...second.depths.map((d) => d.destination), ...flows.accepted.keys()]);
  const now = new Map(second.depths.map((d) => [d.destination, d]));
  const per = (m: Map<string, number>, d: string): number => round((m.get(d) ?? 0) / seconds);
  const destinations = [...names].map((destination): DestinationForecast => {
    const d = now.get(destination) ?? { destination, ready: 0, scheduled: 0, leased: 0, oldestCreatedAt: null };
    const q = queued(d);
    const trendPerS = round((q - (before.get(destination) ?? 0)) / seconds);
    return {
      destination,
      queued: q,
      ready: d.ready,
      scheduled: d.scheduled,
      leased: d.leased,
      oldestAgeS: d.oldestCreatedAt === null ? null : Math.max(0, Math.floor((second.at - d.oldestCreatedAt) / 1000)),
      acceptedPerS: per(flows.accepted, destination),
      deliveredPerS: per(flows.delivered, destination),
      failedPerS: per(flows.failed, destination),
      trendPerS,
      emptyInS: q > 0 ? eta(q, -trendPerS) : null,
      oldestExpiresInS: d.oldestCreatedAt === null ? null : Math.max(0, Math.floor((d.oldestCreatedAt + settings.messageMaxAgeMs - second.at) / 1000)),
    };
  });
  destinations.sort((a, b) => b.queued - a.queued || a.destination.localeCompare(b.destination));
  const total = second.depths.reduce((n, d) => n + queued(d), 0);
  const totalBefore = first.depths.reduce((n, d) => n + queued(d), 0);
  const trendPerS = round((total - totalBefore) / seconds);
  const sum = (m: Map<string, number>): number => round([...m.values()].reduce((a, b) => a + b, 0) / seconds);
  let disk: CapacityReport['disk'] = null;
  if (second.disk && second.dataBytes !== null) {
    const trendBytesPerS = first.dataBytes === null ? 0 : Math.round((second.dataBytes - first.dataBytes) / seconds);
    disk = { dataBytes: second.dataBytes, freeBytes: second.disk.freeBytes, totalBytes: second.disk.totalBytes, trendBytesPerS, fullInS: eta(second.disk.freeBytes, trendBytesPerS) };
  }
  return {
    sampledAt: new Date(second.at).toISOString(),
    intervalS: round(seconds),
    queue: {
      queued: total,
      max: settings.maxQueuedMessages,
      acceptedPerS: sum(flows.accepted),
      deliveredPerS: sum(flows.delivered),
      trendPerS,
      fullInS: eta(settings.maxQueuedMessages - total, trendPerS),
      emptyInS: total > 0 ? eta(total, -trendPerS) : null,
    },
    destinations,
    disk,
    eventsComplete: flows.complete,
  };
}
