import type { EventLog } from '../events/event-log.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AcceptedRequest } from '../message/mail-request.js';
import type { DeferredEvent, FinalEvent } from '../events/event.js';
import type { ClaimedMessage, DestinationClaim, DestinationDepth, MessageQueue, QueueDepth } from '../queue/queue.js';
import { destinationOf } from '../queue/destination.js';
import type { SloRecorder } from './slo/slo-recorder.js';

/** Mailbox providers named in metrics; every other destination is `other`, so labels stay bounded. */
const PROVIDERS: Record<string, string> = {
  'gmail.com': 'gmail',
  'googlemail.com': 'gmail',
  'outlook.com': 'microsoft',
  'hotmail.com': 'microsoft',
  'live.com': 'microsoft',
  'msn.com': 'microsoft',
  'yahoo.com': 'yahoo',
  'aol.com': 'yahoo',
  'icloud.com': 'apple',
  'me.com': 'apple',
};

export function destinationClass(destination: string): string {
  return PROVIDERS[destination] ?? 'other';
}

/** Most destinations given their own `destination` label in the per-destination gauges; the rest add up under `other`. */
const TOP_DESTINATIONS = 20;

/**
 * Herald's Prometheus metrics (`GET /metrics`, text format through prom-client). Every label is
 * bounded: routes as declared, status codes, outcomes, reply classes, provider classes and at most
 * 20 named destinations. Nothing per recipient, per message or per account.
 */
export class HeraldMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'herald_http_requests_total', help: 'HTTP requests answered, by route, method and status.', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
  readonly acceptSeconds = new Histogram({
    name: 'herald_accept_duration_seconds',
    help: 'Time to answer a send request (validation, durable write), by status class.',
    labelNames: ['status_class'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'herald_messages_total',
    help: 'Messages by outcome (processed, delivered, deferred, bounce, dropped) and destination class.',
    labelNames: ['outcome', 'destination_class'],
    registers: [this.registry],
  });
  readonly smtpReplies = new Counter({
    name: 'herald_smtp_replies_total',
    help: 'Outcomes of delivery attempts by SMTP reply class (2xx, 4xx, 5xx; none when no server answered).',
    labelNames: ['class'],
    registers: [this.registry],
  });
  readonly deliverySeconds = new Histogram({
    name: 'herald_accept_to_delivered_seconds',
    help: 'Time from accept to delivered, by destination class.',
    labelNames: ['destination_class'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400],
    registers: [this.registry],
  });
  readonly inboundMessages = new Counter({
    name: 'herald_inbound_messages_total',
    help: 'Messages the inbound receiver took or refused, by outcome (recorded, duplicate, ignored, malformed, too_large, failed, abandoned).',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly claimed = new Map<string, { createdAt: number; readyAt: number }>();
  /** Where SLO events are counted: the same enqueue and outcomes these metrics count. */
  private readonly slo: SloRecorder | undefined;

  constructor(options: { queue?: MessageQueue; events?: Pick<EventLog, 'head'>; configVersion?: () => number; process?: boolean; slo?: SloRecorder } = {}) {
    this.slo = options.slo;
    if (options.process !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
      // Gauges that prom-client names with _total, against Prometheus' naming rules (promtool says so).
      for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) this.registry.removeSingleMetric(`herald_nodejs_${name}`);
    }
    const queue = options.queue;
    if (queue) {
      const age = (at: number | null): number => (at === null ? 0 : Math.max(0, (Date.now() - at) / 1000));
      // Read at scrape time (the queue is the truth; a counter kept aside would drift), once per
      // scrape however many gauges ask: prom-client collects every metric concurrently.
      let snapshot: { at: number; value: Promise<[QueueDepth, DestinationDepth[]]> } | null = null;
      const read = (): Promise<[QueueDepth, DestinationDepth[]]> => {
        if (!snapshot || Date.now() - snapshot.at > 250) snapshot = { at: Date.now(), value: Promise.all([queue.depth(), queue.destinationDepths()]) };
        return snapshot.value;
      };
      new Gauge({
        name: 'herald_queue_messages',
        help: 'Queued messages by state (ready, scheduled, leased).',
        labelNames: ['state'],
        registers: [this.registry],
        async collect() {
          const [d] = await read();
          this.reset();
          this.set({ state: 'ready' }, d.ready);
          this.set({ state: 'scheduled' }, d.scheduled);
          this.set({ state: 'leased' }, d.leased);
        },
      });
      new Gauge({
        name: 'herald_queue_oldest_age_seconds',
        help: 'Age of the oldest queued message (0 when empty).',
        registers: [this.registry],
        async collect() {
          this.set(age((await read())[0].oldestCreatedAt));
        },
      });
      /** The 20 deepest destinations by name, the rest summed under `other`. */
      const perDestination = (all: DestinationDepth[], value: (d: DestinationDepth[]) => number): [string, number][] => {
        const out: [string, number][] = all.slice(0, TOP_DESTINATIONS).map((d) => [d.destination, value([d])]);
        if (all.length > TOP_DESTINATIONS) out.push(['other', value(all.slice(TOP_DESTINATIONS))]);
        return out;
      };
      new Gauge({
        name: 'herald_destination_queue_messages',
        help: 'Queued messages of the 20 deepest destinations (the rest as other).',
        labelNames: ['destination'],
        registers: [this.registry],
        async collect() {
          this.reset();
          for (const [destination, n] of perDestination((await read())[1], (ds) => ds.reduce((sum, d) => sum + d.ready + d.scheduled + d.leased, 0))) this.set({ destination }, n);
        },
      });
      new Gauge({
        name: 'herald_destination_oldest_age_seconds',
        help: 'Age of the oldest queued message of the 20 deepest destinations (the rest as other).',
        labelNames: ['destination'],
        registers: [this.registry],
        async collect() {
          this.reset();
          const oldestOf = (ds: DestinationDepth[]): number => age(ds.reduce<number | null>((min, d) => (d.oldestCreatedAt === null ? min : Math.min(min ?? d.oldestCreatedAt, d.oldestCreatedAt)), null));
          for (const [destination, seconds] of perDestination((await read())[1], oldestOf)) this.set({ destination }, seconds);
        },
      });
    }
    const events = options.events;
    if (events) {
      // The log's last position: every event ever appended (the log is never trimmed), so its
      // rate is the event rate and its value what the log holds.
      new Gauge({ name: 'herald_event_log_events', help: 'Events appended to the event log so far (its size in events).', registers: [this.registry], async collect() {
        this.set(await events.head());
      } });
    }
    if (options.configVersion) {
      const read = options.configVersion;
      new Gauge({ name: 'herald_config_version', help: 'Revision of the live configuration this process runs (0: none set live).', registers: [this.registry], collect() {
        this.set(read());
      } });
    }
  }

  /**
   * The queue with every state change counted: processed at enqueue, each outcome at complete or
   * defer, and the time from accept to delivered (the claim carries when the message was accepted).
   */
  meter(queue: MessageQueue): MessageQueue {
    const metrics = this;
    const remember = (claims: ClaimedMessage[]): ClaimedMessage[] => {
      for (const c of claims) metrics.claimed.set(c.message.id, { createdAt: c.message.createdAt, readyAt: c.message.readyAt });
      return claims;
    };
    return {
      // Everything else goes straight to the queue, bound to it (its own state stays its own).
      extendLease: queue.extendLease.bind(queue),
      waitingDestinations: queue.waitingDestinations.bind(queue),
      release: queue.release.bind(queue),
      nextReadyAt: queue.nextReadyAt.bind(queue),
      depth: queue.depth.bind(queue),
      destinationDepths: queue.destinationDepths.bind(queue),
      list: queue.list.bind(queue),
      retryNow: queue.retryNow.bind(queue),
      purge: queue.purge.bind(queue),
      onReady: queue.onReady.bind(queue),
      async enqueue(accepted: AcceptedRequest) {
        await queue.enqueue(accepted);
        // One increment per class, not per message: a bulk request's messages mostly share a few.
        const byClass = new Map<string, number>();
        for (const m of accepted.messages) {
          const cls = destinationClass(destinationOf(m.recipient));
          byClass.set(cls, (byClass.get(cls) ?? 0) + 1);
        }
        for (const [cls, n] of byClass) metrics.messages.inc({ outcome: 'processed', destination_class: cls }, n);
        metrics.slo?.accepted(accepted.messages);
      },
      async claim(owner: string, limit: number, leaseMs: number) {
        return remember(await queue.claim(owner, limit, leaseMs));
      },
      async claimFrom(owner: string, wants: readonly DestinationClaim[], leaseMs: number) {
        return remember(await queue.claimFrom(owner, wants, leaseMs));
      },
      async complete(owner: string, event: FinalEvent) {
        const held = await queue.complete(owner, event);
        metrics.outcome(event, held);
        return held;
      },
      async defer(owner: string, event: DeferredEvent) {
        const held = await queue.defer(owner, event);
        metrics.outcome(event, held);
        return held;
      },
    };
  }

  private outcome(event: FinalEvent | DeferredEvent, held: boolean): void {
    const cls = destinationClass(destinationOf(event.email));
    this.messages.inc({ outcome: event.type, destination_class: cls });
    const claim = this.claimed.get(event.messageId);
    // A deferred message comes back in a later claim, which remembers it again.
    this.claimed.delete(event.messageId);
    // An outcome of a lost lease is another worker's to count for the SLO.
    if (held) this.slo?.finished(event, claim);
    const accepted = claim?.createdAt;
    switch (event.type) {
      case 'delivered':
        this.smtpReplies.inc({ class: '2xx' });
        if (accepted !== undefined) this.deliverySeconds.observe({ destination_class: cls }, Math.max(0, (event.timestamp - accepted) / 1000));
        break;
      case 'deferred':
        this.smtpReplies.inc({ class: replyClass(event.response) });
        break;
      case 'bounce':
        this.smtpReplies.inc({ class: replyClass(event.reason) });
        break;
      case 'dropped':
        break;
    }
  }
}

/** "451 4.7.1 Try later" → 4xx; a response that is not a server's reply (refused, expired) → none. */
function replyClass(response: string): string {
  const m = /^([245])\d\d[ -]/.exec(response);
  return m ? `${m[1]}xx` : 'none';
}
