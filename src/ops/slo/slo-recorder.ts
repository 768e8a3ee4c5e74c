import type { Logger } from 'pino';
import type { DeferredEvent, FinalEvent } from '../../events/event.js';
import { bucketOf, BUCKET_MS } from './burn-rate.js';
import type { SloDefinition } from './slo-definitions.js';
import type { SloCount, SloStore } from './slo-store.js';

/** Routes that are not the API: probes and scrapes, whose answers say nothing of the service. */
const NOT_API = new Set(['/healthz', '/readyz', '/metrics', 'unmatched']);

/** When a message could first be sent, as the queue hands it to a worker. */
export interface MessageTimes {
  /** Epoch ms: accept, or `send_at` when later. */
  readyAt: number;
}

/**
 * Counts good and total events per SLO and minute in memory, and adds them to the store in one
 * batch every `sloFlushMs` (never a write per request). Every process of a cluster adds to the
 * same buckets. A crash loses at most the counts of one flush interval.
 */
export class SloRecorder {
  private pending = new Map<string, SloCount>();
  private readonly availability: SloDefinition[];
  private readonly acceptLatency: SloDefinition[];
  private readonly timeToDeliver: SloDefinition[];
  private flushing: Promise<void> | null = null;

  constructor(
    slos: readonly SloDefinition[],
    private readonly store: SloStore,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {
    this.availability = slos.filter((s) => s.sli.kind === 'availability');
    this.acceptLatency = slos.filter((s) => s.sli.kind === 'accept-latency');
    this.timeToDeliver = slos.filter((s) => s.sli.kind === 'time-to-deliver');
  }

  /** One HTTP response, from the onResponse hook; `route` as declared (`/v3/messages/:msg_id`). */
  response(route: string, method: string, status: number, elapsedMs: number): void {
    if (NOT_API.has(route)) return;
    const at = this.now();
    // 5xx is Herald failing; 4xx (429 included) is the caller's request or intended pushback.
    for (const s of this.availability) this.count(s.name, at, status < 500 ? 1 : 0, 1);
    // 202 is mail accepted and durably written; a sandbox request (200) writes nothing.
    if (route === '/v3/mail/send' && method === 'POST' && status === 202) {
      for (const s of this.acceptLatency) this.count(s.name, at, elapsedMs < threshold(s) ? 1 : 0, 1);
    }
  }

  /**
   * Messages made durable. Each time-to-deliver SLO counts a message once, in the bucket of its
   * deadline (ready time + threshold): it adds to the total now, and to good if it is delivered
   * by then. Once a deadline bucket is past, its bad count (total − good) is final: a message
   * still queued, deferred or lost counts as bad without waiting for its fate.
   */
  accepted(messages: readonly MessageTimes[]): void {
    for (const s of this.timeToDeliver) {
      for (const m of messages) this.count(s.name, m.readyAt + threshold(s), 0, 1);
    }
  }

  /**
   * A delivery outcome (`times` from the claim, unknown when another process claimed it). Delivered
   * by the deadline: good in the deadline's bucket. Bounced or dropped before it: not deliverable,
   * taken out of that bucket's total. After the deadline nothing changes: it counted as bad there.
   */
  finished(event: FinalEvent | DeferredEvent, times: MessageTimes | undefined): void {
    if (!times || event.type === 'deferred') return;
    for (const s of this.timeToDeliver) {
      const deadline = times.readyAt + threshold(s);
      if (event.timestamp > deadline) continue;
      if (event.type === 'delivered') this.count(s.name, deadline, 1, 0);
      else this.count(s.name, deadline, 0, -1);
    }
  }

  /** Adds what was counted to the store; counts that fail to be written wait for the next flush. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.store
      .add(batch)
      .catch((error: unknown) => {
        for (const c of batch) this.count(c.slo, c.bucket, c.good, c.total);
        this.log.warn({ err: error, buckets: batch.length }, 'could not write SLO counts; they are kept for the next flush');
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  /** Waits for a flush under way, then writes whatever is left (at shutdown). */
  async drain(): Promise<void> {
    await this.flush();
    await this.flush();
  }

  /** How many buckets wait to be written (bounded by SLOs × distinct minutes since the last flush). */
  get pendingBuckets(): number {
    return this.pending.size;
  }

  private count(slo: string, at: number, good: number, total: number): void {
    const bucket = bucketOf(at);
    const key = `${slo} ${bucket}`;
    const c = this.pending.get(key);
    if (c) {
      c.good += good;
      c.total += total;
    } else this.pending.set(key, { slo, bucket, good, total });
  }
}

function threshold(slo: SloDefinition): number {
  return 'thresholdMs' in slo.sli ? slo.sli.thresholdMs : BUCKET_MS;
}
