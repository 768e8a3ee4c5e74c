import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/settings.js';
import type { ActivityStore, EventLog, MessageSummary } from '../events/event-log.js';
import type { HeraldEvent } from '../events/event.js';
import { retryDelay } from '../queue/retry-policy.js';
import { switchFor, webhookEvent } from './webhook-events.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import { postWebhook } from './webhook-sender.js';
import { signatureHeaders } from './webhook-signature.js';
import type { ClaimedBatch, FanOutTarget, OutboxEntry, WebhookStore } from './webhook-store.js';
import type { Resolve } from './webhook-target.js';

export type WebhookSettings = Pick<
  HeraldConfig,
  | 'webhookAllowPrivateTargets'
  | 'webhookBatchMaxEvents'
  | 'webhookBatchWaitMs'
  | 'webhookConcurrency'
  | 'webhookConnectTimeoutMs'
  | 'webhookResponseTimeoutMs'
  | 'webhookMaxResponseBytes'
  | 'webhookRetryBaseMs'
  | 'webhookRetryMaxMs'
  | 'webhookRetryWindowMs'
  | 'webhookLeaseMs'
  | 'webhookPollMs'
>;

/** Time as the dispatcher sees it; tests pass one they move by hand. */
export interface DispatcherClock {
  now(): number;
  /** Calls `fn` after `ms` of this clock's time; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: DispatcherClock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WebhookDispatcherOptions {
  events: EventLog;
  activity: ActivityStore;
  store: WebhookStore;
  settings: WebhookSettings;
  log: Logger;
  metrics?: WebhookMetrics;
  clock?: DispatcherClock;
  /** This process's lease owner id. @defaultValue a random UUID */
  owner?: string;
  /** Host resolution for the send-time address check. @defaultValue the system resolver */
  resolve?: Resolve;
  random?: () => number;
}

/** Events read from the log per fan-out step. */
const FANOUT_PAGE = 500;

/**
 * Sends the event log to Event Webhook endpoints, at least once, in order per endpoint.
 *
 * Fan-out tails the global event log from a cursor kept in the store; each event becomes one
 * outbox entry per enabled endpoint of its account that wants its type, written in the same
 * transaction that moves the cursor, so a crash between reading and writing redoes the step and a
 * restart loses nothing. Sending leases one endpoint at a time (its head of line, up to
 * webhookBatchMaxEvents events), posts it, and on 2xx removes exactly what it sent; a failure
 * leaves the batch where it is and the endpoint waits with exponential backoff and jitter, so a
 * later event never overtakes an earlier one. A batch still failing once its oldest event has
 * waited webhookRetryWindowMs (24 h by default, as SendGrid retries) is dropped, logged and
 * counted. `sg_event_id` is the Herald event id, the same on every retry, for receivers to
 * deduplicate on.
 */
export class WebhookDispatcher {
  readonly owner: string;
  private readonly clock: DispatcherClock;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | null = null;
  private timer: unknown = null;
  private wake: (() => void) | null = null;

  constructor(private readonly o: WebhookDispatcherOptions) {
    this.owner = o.owner ?? randomUUID();
    this.clock = o.clock ?? systemClock;
    const s = o.settings;
    if (s.webhookLeaseMs <= s.webhookConnectTimeoutMs + s.webhookResponseTimeoutMs) {
      // A lease that lapses while its POST may still be running lets another process send the same batch meanwhile.
      o.log.warn({ webhookLeaseMs: s.webhookLeaseMs, webhookResponseTimeoutMs: s.webhookResponseTimeoutMs }, 'webhookLeaseMs should be longer than webhookConnectTimeoutMs + webhookResponseTimeoutMs');
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Stops reading and claiming, gives batches in flight until `graceMs` to finish, then releases
   * this process's leases so another process (or the next start) takes them at once. A batch cut
   * off is sent again later: at least once.
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await this.o.store.release(this.owner).catch((error: unknown) => this.o.log.warn({ err: error }, 'could not release webhook leases'));
  }

  /** One round, awaited to the end: fan out everything new, then send every due batch. For tests and tools. */
  async runOnce(): Promise<void> {
    while (await this.fanOut()) {
      // a full page: read on
    }
    this.sendDue();
    await this.settled();
  }

  /** Resolves when no batch is in flight. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let more = false;
      try {
        more = await this.fanOut();
        this.sendDue();
      } catch (error) {
        this.o.log.warn({ err: error }, 'webhook dispatch step failed; retrying');
      }
      if (!this.running) break;
      if (more) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = this.clock.setTimeout(resolve, this.o.settings.webhookPollMs);
      });
      this.timer = null;
      this.wake = null;
    }
  }

  /** One fan-out step; true when it read a full page (more may be waiting). */
  async fanOut(): Promise<boolean> {
    const { events, store } = this.o;
    const from = await store.cursor();
    const targets = await store.targets();
    if (targets.length === 0) {
      // No endpoint anywhere: nothing to fan out, so move past what is logged without reading it
      // (an endpoint made from now on gets the events logged from now on, as a new one always does).
      const head = await events.head();
      if (head > from) await store.fanOut(from, head, [], this.clock.now());
      return false;
    }
    const page = await events.readFrom(from, FANOUT_PAGE);
    if (page.events.length === 0) return false;
    const byAccount = new Map<string, FanOutTarget[]>();
    for (const t of targets) {
      const list = byAccount.get(t.accountId);
      if (list) list.push(t);
      else byAccount.set(t.accountId, [t]);
    }
    // Only the events some endpoint wants; their messages' metadata, one lookup per account.
    const wanted: { event: HeraldEvent; to: FanOutTarget[] }[] = [];
    const messageIds = new Map<string, Set<string>>();
    for (const event of page.events) {
      const kind = switchFor(event.type);
      const to = (byAccount.get(event.accountId) ?? []).filter((t) => t.eventTypes.includes(kind));
      if (to.length === 0) continue;
      wanted.push({ event, to });
      let ids = messageIds.get(event.accountId);
      if (!ids) messageIds.set(event.accountId, (ids = new Set()));
      ids.add(event.messageId);
    }
    const messages = new Map<string, MessageSummary>();
    for (const [accountId, ids] of messageIds) {
      for (const [id, m] of await this.o.activity.lookupMessages(accountId, [...ids])) messages.set(`${accountId}/${id}`, m);
    }
    const entries: OutboxEntry[] = [];
    for (const { event, to } of wanted) {
      const payload = JSON.stringify(webhookEvent(event, messages.get(`${event.accountId}/${event.messageId}`)));
      for (const t of to) entries.push({ endpointId: t.id, eventId: event.id, payload });
    }
    if (await store.fanOut(from, page.cursor, entries, this.clock.now())) {
      this.o.metrics?.events.inc({ outcome: 'enqueued' }, entries.length);
    }
    return page.events.length === FANOUT_PAGE;
  }

  /** Claims due batches up to the free concurrency and starts sending them. */
  sendDue(): void {
    const free = this.o.settings.webhookConcurrency - this.inFlight.size;
    if (free <= 0) return;
    const s = this.o.settings;
    const claiming = this.o.store
      .claim(this.owner, this.clock.now(), { endpoints: free, batchMaxEvents: s.webhookBatchMaxEvents, batchWaitMs: s.webhookBatchWaitMs, leaseMs: s.webhookLeaseMs })
      .then((batches) => {
        for (const batch of batches) {
          this.track(this.send(batch).catch((error: unknown) => this.o.log.warn({ err: error, endpointId: batch.endpoint.id }, 'webhook batch could not be settled; its lease will lapse and it is sent again')));
        }
      })
      .catch((error: unknown) => this.o.log.warn({ err: error }, 'could not claim webhook batches'));
    this.track(claiming);
  }

  private track(work: Promise<void>): void {
    const tracked = work.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async send(batch: ClaimedBatch): Promise<void> {
    const { endpoint, entries } = batch;
    if (entries.length === 0) return; // emptied meanwhile (endpoint deleted): the lease lapses
    const s = this.o.settings;
    const log = this.o.log.child({ endpointId: endpoint.id, accountId: endpoint.accountId });
    const body = Buffer.from(`[${entries.map((e) => e.payload).join(',')}]`, 'utf8');
    const started = this.clock.now();
    const wallStart = performance.now();
    const headers = endpoint.privateKeyPem ? signatureHeaders(endpoint.privateKeyPem, started, body) : {};
    let outcome;
    try {
      outcome = await postWebhook(
        endpoint.url,
        body,
        headers,
        { connectTimeoutMs: s.webhookConnectTimeoutMs, responseTimeoutMs: s.webhookResponseTimeoutMs, maxResponseBytes: s.webhookMaxResponseBytes, allowPrivateTargets: s.webhookAllowPrivateTargets },
        this.o.resolve,
      );
    } catch (error) {
      outcome = { ok: false, status: null, error: (error as Error).message, body: '' };
    }
    const seconds = (performance.now() - wallStart) / 1000;
    const now = this.clock.now();
    const upToSeq = entries[entries.length - 1]!.seq;
    const record = { attemptedAt: started, events: entries.length, status: outcome.status, error: outcome.error, durationMs: Math.round(seconds * 1000) };
    const metrics = this.o.metrics;
    if (outcome.ok) {
      const kept = await this.o.store.settle(this.owner, endpoint.id, { kind: 'delivered', upToSeq }, { ...record, outcome: 'delivered' });
      if (kept === null) log.warn('webhook batch delivered after its lease was lost; it may be sent again');
      metrics?.batches.inc({ outcome: 'delivered' });
      metrics?.events.inc({ outcome: 'delivered' }, entries.length);
      metrics?.postSeconds.observe({ outcome: 'delivered' }, seconds);
      log.debug({ events: entries.length, status: outcome.status }, 'webhook batch delivered');
      return;
    }
    const retryAt = now + retryDelay({ baseMs: s.webhookRetryBaseMs, maxMs: s.webhookRetryMaxMs }, batch.attempts + 1, this.o.random);
    metrics?.postSeconds.observe({ outcome: 'failed' }, seconds);
    if (now - entries[0]!.enqueuedAt >= s.webhookRetryWindowMs) {
      const enqueuedBefore = now - s.webhookRetryWindowMs;
      const dropped = await this.o.store.settle(this.owner, endpoint.id, { kind: 'dropped', upToSeq, enqueuedBefore, retryAt }, { ...record, outcome: 'dropped' });
      if (dropped === null) return;
      metrics?.batches.inc({ outcome: 'dropped' });
      metrics?.events.inc({ outcome: 'dropped' }, dropped);
      log.error(
        { events: dropped, firstEventId: entries[0]!.eventId, status: outcome.status, error: outcome.error },
        'webhook events dropped: this batch, and every other event of the endpoint queued before the retry window, failed for the whole window',
      );
      return;
    }
    await this.o.store.settle(this.owner, endpoint.id, { kind: 'failed', retryAt }, { ...record, outcome: 'failed' });
    metrics?.batches.inc({ outcome: 'failed' });
    log.info({ events: entries.length, status: outcome.status, error: outcome.error, attempts: batch.attempts + 1, retryInMs: retryAt - now }, 'webhook batch failed; will retry');
  }
}
