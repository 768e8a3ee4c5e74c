import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/settings.js';
import type { ClaimedMessage, DestinationClaim, MessageQueue } from '../queue/queue.js';
import { destinationOf } from '../queue/destination.js';
import { DestinationShaper, type AttemptHealth } from './destination-shaper.js';
import { DeliveryError } from './delivery-error.js';
import type { DeliveryPeers, SharedRateLimiter } from './cluster-limits.js';
import { retryDelay } from '../queue/retry-policy.js';
import { newEventId, type BounceEvent, type DeferredEvent, type DeliveredEvent, type DroppedEvent } from '../events/event.js';
import type { SuppressionMatch, SuppressionStore } from '../suppressions/suppression-store.js';
import { DROP_REASONS } from '../suppressions/auto-suppress.js';
import { composeMessage } from '../message/compose.js';
import type { DomainStore } from '../domains/domain-store.js';
import { signMessage } from '../domains/dkim-sign.js';
import { signingKeysFor } from '../domains/signing-keys.js';
import { classifyFailure, isSessionFailure } from './classify-reply.js';
import type { SendResult, Transport } from './transport.js';
import type { ReturnPaths } from '../inbound/return-path.js';
import type { Tracker } from '../tracking/tracker.js';
import type { ComposeTracking } from '../message/compose.js';

/**
 * Claims ready messages with a lease, composes and sends them, and records the outcome. Holds at
 * most `deliveryConcurrency` messages at once; renews the leases of slow deliveries; on stop,
 * waits up to the grace period and gives back what is still in flight.
 */
export class DeliveryWorker {
  readonly owner = `worker-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Of `inFlight`, the messages past their server, whose outcome is being written. */
  private recording = 0;
  /** Destinations with queued messages and when each may next have one ready (epoch ms). */
  private readonly waiting = new Map<string, number>();
  /** Where the next scheduling round starts in `waiting`, so no destination always goes first. */
  private rotation = 0;
  private lastScan = Number.NEGATIVE_INFINITY;
  /** Claim rounds failed in a row (the store unreachable). */
  private failures = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** A wake-up that came while the loop was busy, not asleep: the next `idle` returns at once. */
  private woken = false;
  private unsubscribe: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private beatTimer: NodeJS.Timeout | null = null;
  readonly shaper: DestinationShaper;

  constructor(
    private readonly queue: MessageQueue,
    private readonly suppressions: SuppressionStore,
    private readonly domains: DomainStore,
    private readonly transport: Transport,
    private readonly config: HeraldConfig,
    private readonly log: Logger,
    shaper?: DestinationShaper,
    private readonly rates: SharedRateLimiter | null = null,
    private readonly peers: DeliveryPeers | null = null,
    /** VERP return paths when `returnPathDomain` is set; null sends with MAIL FROM = the From address. */
    private readonly returnPaths: ReturnPaths | null = null,
    /** Open, click and unsubscribe tracking; null composes every message untracked. */
    private readonly tracker: Tracker | null = null,
  ) {
    this.shaper = shaper ?? new DestinationShaper(config, Date.now, rates !== null);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.queue.onReady((destinations) => {
      if (destinations === null) this.lastScan = Number.NEGATIVE_INFINITY;
      else for (const d of destinations) this.waiting.set(d, Math.min(this.waiting.get(d) ?? Number.POSITIVE_INFINITY, Date.now()));
      this.poke();
    });
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(500, this.config.deliveryLeaseMs / 3));
    this.renewTimer.unref();
    if (this.peers) {
      void this.beat();
      this.beatTimer = setInterval(() => void this.beat(), PEER_BEAT_MS);
      this.beatTimer.unref();
    }
    this.loop = this.run();
  }

  /** Stops claiming; lets in-flight deliveries finish for up to `graceMs`, then releases the rest. */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.poke();
    this.unsubscribe?.();
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.beatTimer) clearInterval(this.beatTimer);
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const released = await this.queue.release(this.owner);
    if (released > 0) this.log.info({ released }, 'released leases of unfinished deliveries');
    await this.peers?.leave(this.owner).catch(() => {});
  }

  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * The scheduler. Each round looks at the destinations with ready messages, asks the shaper how
   * many of each may start (connections, rate, circuit breaker), and claims them in one step; a
   * destination that is slow, throttled or paused keeps its messages in the queue without holding
   * a slot that another destination could use.
   */
  private async run(): Promise<void> {
    // Claim in batches: one claim per freed slot would cost a transaction per message.
    const batch = Math.min(16, Math.ceil(this.config.deliveryConcurrency / 4));
    while (this.running) {
      let wakeAt = Date.now() + this.config.deliveryPollMs;
      let claimed = 0;
      try {
        if (Date.now() - this.lastScan >= this.config.deliveryPollMs) await this.scan();
        const room = this.room();
        if (room >= batch || (room > 0 && this.inFlight.size === 0)) {
          const round = await this.claimRound(room);
          claimed = round.claimed;
          wakeAt = Math.min(wakeAt, round.wakeAt);
        }
        if (this.failures > 0) {
          this.log.info({ failures: this.failures }, 'the store answers again; claiming resumes');
          this.failures = 0;
        }
      } catch (error) {
        // The store is down or restarting: back off (up to 5 s) and say so once, not every poll.
        this.failures++;
        if (this.failures === 1) this.log.error({ err: error }, 'claim failed; retrying with backoff until the store answers');
        else this.log.debug({ err: error, failures: this.failures }, 'claim failed again');
        wakeAt = Date.now() + Math.min(5000, this.config.deliveryPollMs * 2 ** Math.min(this.failures, 10));
      }
      if (claimed === 0 || this.room() < batch) await this.idle(wakeAt);
    }
  }

  /**
   * Messages that may be claimed now. A message whose server has answered only waits for its
   * outcome to be written: it holds no connection and no composed copy, so it does not count
   * against `deliveryConcurrency`, up to four times that many (then a store falling behind holds
   * new claims back).
   */
  private room(): number {
    const recording = Math.min(this.recording, this.config.deliveryConcurrency * RECORDING_FACTOR);
    return this.config.deliveryConcurrency - (this.inFlight.size - recording);
  }

  /** Reads which destinations have queued messages (all processes' work, scheduled and retried). */
  private async scan(): Promise<void> {
    const found = await this.queue.waitingDestinations();
    this.lastScan = Date.now();
    this.waiting.clear();
    for (const w of found) this.waiting.set(w.destination, w.readyAt);
  }

  private async claimRound(room: number): Promise<{ claimed: number; wakeAt: number }> {
    const now = Date.now();
    let wakeAt = Number.POSITIVE_INFINITY;
    const wants: DestinationClaim[] = [];
    const entries = [...this.waiting];
    const offset = entries.length === 0 ? 0 : this.rotation++ % entries.length;
    let left = Math.min(room, 256);
    for (let i = 0; i < entries.length && left > 0; i++) {
      const [destination, readyAt] = entries[(offset + i) % entries.length]!;
      if (readyAt > now) {
        wakeAt = Math.min(wakeAt, readyAt);
        continue;
      }
      const { room: allowed, retryAt } = this.shaper.room(destination);
      if (allowed <= 0) {
        if (retryAt !== null) wakeAt = Math.min(wakeAt, retryAt);
        continue;
      }
      // A claim is a transaction: while the destination is busy, wait until half of its slots
      // are free and claim them together rather than one transaction per finished message. The
      // other half (two per connection: one on the wire, one pipelined behind it) keeps its
      // connections going meanwhile; a finishing message wakes the loop.
      const shape = this.shaper.shapeOf(destination);
      const busy = this.shaper.inFlight(destination);
      if (busy > 0 && shape.maxInFlight - busy < Math.max(1, Math.ceil(shape.maxInFlight / CLAIM_WHEN_FREE))) continue;
      let limit = Math.min(allowed, left);
      const rate = shape.messagesPerSecond;
      if (this.rates && rate > 0) {
        // The cluster-wide bucket: every delivery process takes from the same one.
        limit = await this.rates.take(destination, limit, rate);
        if (limit === 0) {
          wakeAt = Math.min(wakeAt, Date.now() + Math.ceil(1000 / rate));
          continue;
        }
      }
      wants.push({ destination, limit });
      left -= limit;
    }
    if (wants.length === 0) return { claimed: 0, wakeAt };
    const claims = await this.queue.claimFrom(this.owner, wants, this.config.deliveryLeaseMs);
    const suppressed = await this.suppressionsOf(claims);
    const got = new Map<string, ClaimedMessage[]>();
    for (const c of claims) {
      const d = destinationOf(c.message.recipient);
      let list = got.get(d);
      if (list === undefined) got.set(d, (list = []));
      list.push(c);
    }
    for (const want of wants) {
      const mine = got.get(want.destination) ?? [];
      // Fewer than asked: nothing more is ready there now; the next scan says when it will be.
      if (mine.length < want.limit) this.waiting.set(want.destination, Date.now() + this.config.deliveryPollMs);
      this.shaper.started(want.destination, mine.length);
      for (const c of mine) {
        const p = this.deliver(c, want.destination, suppressed?.get(c)).finally(() => {
          this.inFlight.delete(c.message.id);
          this.poke();
        });
        this.inFlight.set(c.message.id, p);
      }
    }
    return { claimed: claims.length, wakeAt };
  }

  /**
   * The suppressions of messages claimed together, in one lookup per account and unsubscribe
   * group rather than one per message. Null when that lookup fails: each message then looks up
   * its own, and is left to its lease if that fails too.
   */
  private async suppressionsOf(claims: readonly ClaimedMessage[]): Promise<Map<ClaimedMessage, SuppressionMatch | null> | null> {
    const groups = new Map<string, { accountId: string; groupId: number | null; claims: ClaimedMessage[] }>();
    for (const c of claims) {
      const groupId = c.request.asmGroupId ?? null;
      const key = `${c.message.accountId}/${groupId ?? ''}`;
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = { accountId: c.message.accountId, groupId, claims: [] }));
      group.claims.push(c);
    }
    const out = new Map<ClaimedMessage, SuppressionMatch | null>();
    try {
      for (const g of groups.values()) {
        const found = await this.suppressions.findMany(g.accountId, g.claims.map((c) => c.message.recipient), g.groupId);
        for (const c of g.claims) out.set(c, found.get(c.message.recipient.toLowerCase()) ?? null);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not check the suppressions of claimed messages together; checking each on its own');
      return null;
    }
    return out;
  }

  /** Wakes the loop, or makes its next sleep return at once when it is not asleep yet. */
  private poke(): void {
    if (this.wake) this.wake();
    else this.woken = true;
  }

  /** Sleeps until new work, a free slot, or `wakeAt` (the next scheduled message or token), whichever comes first. */
  private async idle(wakeAt: number): Promise<void> {
    // wakeAt is at most one poll away, except while backing off from a store that is down.
    const wait = Math.max(0, wakeAt - Date.now());
    if (this.woken || wait === 0) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }

  /** `suppressed`: the message's suppression, when already looked up (see `suppressionsOf`). */
  private async deliver(claim: ClaimedMessage, destination: string, suppressed?: SuppressionMatch | null): Promise<void> {
    let left = false;
    // The destination's slot is given back as soon as its server is done with the message, so
    // the next message starts while this one's outcome is still being written.
    const leave = (health: AttemptHealth): void => {
      if (left) return;
      left = true;
      this.recording++;
      const opened = this.shaper.finished(destination, health);
      if (opened) {
        this.log.warn({ destination, failures: opened.failures, pausedUntil: new Date(opened.until).toISOString() }, 'destination paused: its servers keep failing to take connections');
      }
      this.poke();
    };
    let health: AttemptHealth = 'not-attempted';
    try {
      health = await this.attempt(claim, destination, leave, suppressed);
    } finally {
      leave(health);
      this.recording--;
    }
  }

  /**
   * One delivery attempt; says whether the destination's server answered, and tells `leave` so
   * the moment the exchange with it ends.
   */
  private async attempt(claim: ClaimedMessage, destination: string, leave: (health: AttemptHealth) => void, suppressed: SuppressionMatch | null | undefined): Promise<AttemptHealth> {
    const { message, request } = claim;
    const attempt = claim.attempts + 1;
    // Keyed by the ids an operator searches by: the message, the HTTP request it came in with
    // (the caller's X-Request-Id) and where it goes.
    const log = messageLog(this.log, { messageId: message.id, requestId: request.httpRequestId ?? null, xMessageId: message.requestId, destination, attempt });
    const base = { accountId: message.accountId, messageId: message.id, email: message.recipient };
    if (await this.dropIfSuppressed(claim, log, suppressed)) return 'not-attempted';
    let tracking: ComposeTracking | null = null;
    if (this.tracker) {
      try {
        tracking = await this.tracker.forMessage(message, request);
      } catch (error) {
        // The account's settings could not be read: the lease runs out and the message is tried again.
        log.error({ err: error }, 'could not read tracking settings; the message will be tried again');
        return 'not-attempted';
      }
    }
    let raw: Buffer;
    try {
      raw = await composeMessage({
        request,
        personalizationIndex: message.personalizationIndex,
        messageId: message.id,
        hostname: this.config.hostname,
        date: message.createdAt,
        tracking,
      });
    } catch (error) {
      // Composing the same request fails the same way every time: bounce now rather than retry
      // for days. RFC 3463 §3.7: 5.6.0, other or undefined media error.
      const event: BounceEvent = {
        ...base,
        type: 'bounce',
        id: newEventId(),
        timestamp: Date.now(),
        bounceType: 'blocked',
        reason: `could not compose the message: ${error instanceof Error ? error.message : String(error)}`,
        status: '5.6.0',
        attempt,
        mxServer: null,
      };
      await this.queue.complete(this.owner, event).catch((e: unknown) => log.error({ err: e }, 'could not record a compose failure'));
      log.warn({ err: error }, 'bounced: could not compose');
      return 'not-attempted';
    }
    let result: SendResult;
    try {
      // DKIM (RFC 6376) with the keys of the account's verified domain for the From address, if
      // any. A failure here (e.g. sealed keys without their key) defers: the message is not lost.
      raw = signMessage(raw, await signingKeysFor(this.domains, message.accountId, message.fromEmail));
      // The envelope sender names the message (VERP), so a bounce that comes back later is matched
      // to it (src/inbound). No Return-Path header is written: the receiving MTA adds it from
      // MAIL FROM at final delivery (RFC 5321 §4.4).
      const from = this.returnPaths?.addressFor(message.id) ?? message.fromEmail;
      result = await this.transport.send({
        accountId: message.accountId,
        messageId: message.id,
        envelope: { from, to: message.recipient },
        raw,
      });
    } catch (error) {
      const health: AttemptHealth = isSessionFailure(error) ? 'session-failure' : error instanceof DeliveryError && error.replyCode !== null ? 'answered' : 'not-attempted';
      leave(health);
      await this.recordFailure(claim, error, attempt, log).catch((e: unknown) => {
        // The lease runs out and the message is claimed again: nothing is lost.
        log.error({ err: e }, 'could not record the outcome of an attempt');
      });
      return health;
    }
    leave('answered');
    const event: DeliveredEvent = { ...base, type: 'delivered', id: newEventId(), timestamp: Date.now(), response: result.response, attempt, mxServer: result.mxServer };
    try {
      await this.queue.complete(this.owner, event);
    } catch (error) {
      // The lease runs out and the message is sent again: a duplicate, never a loss.
      log.error({ err: error }, 'delivered, but could not record it; the message will be sent again');
      return 'answered';
    }
    log.debug({ response: result.response }, 'delivered');
    return 'answered';
  }

  /**
   * Checked at delivery, not at accept: an address suppressed while its mail waits (send_at,
   * retries) is still spared. Looked up when the message was claimed (`known`), else here. When
   * the lookup itself fails, the message is left to its lease and tried again later rather than
   * sent unchecked.
   */
  private async dropIfSuppressed(claim: ClaimedMessage, log: MessageLog, known: SuppressionMatch | null | undefined): Promise<boolean> {
    const { message, request } = claim;
    let match = known;
    if (match === undefined) {
      try {
        match = await this.suppressions.find(message.accountId, message.recipient, request.asmGroupId ?? null);
      } catch (error) {
        log.error({ err: error }, 'could not check suppressions; the message will be tried again');
        return true;
      }
    }
    if (!match) return false;
    const event: DroppedEvent = {
      type: 'dropped',
      id: newEventId(),
      accountId: message.accountId,
      messageId: message.id,
      email: message.recipient,
      timestamp: Date.now(),
      reason: DROP_REASONS[match.list],
    };
    await this.queue.complete(this.owner, event).catch((e: unknown) => log.error({ err: e }, 'could not record a drop'));
    log.info({ list: match.list, groupId: match.groupId }, 'dropped: suppressed');
    return true;
  }

  private async recordFailure(claim: ClaimedMessage, error: unknown, attempt: number, log: MessageLog): Promise<void> {
    const { message } = claim;
    const base = { accountId: message.accountId, messageId: message.id, email: message.recipient };
    const outcome = classifyFailure(error);
    const mxServer = (error as { mxServer?: string | null }).mxServer ?? null;
    const now = Date.now();
    if (outcome.kind === 'bounced') {
      const event: BounceEvent = { ...base, type: 'bounce', id: newEventId(), timestamp: now, bounceType: outcome.bounceType, reason: outcome.response, status: outcome.status, attempt, mxServer };
      await this.queue.complete(this.owner, event);
      log.info({ response: outcome.response }, 'bounced');
      return;
    }
    const nextAttemptAt = now + retryDelay({ baseMs: this.config.retryBaseMs, maxMs: this.config.retryMaxMs }, attempt);
    if (nextAttemptAt > message.expiresAt) {
      const event: BounceEvent = {
        ...base,
        type: 'bounce',
        id: newEventId(),
        timestamp: now,
        bounceType: 'bounce',
        reason: `expired: not delivered within ${formatDuration(this.config.messageMaxAgeMs)}; last response: ${outcome.response}`,
        status: '4.4.7', // RFC 3463: delivery time expired
        attempt,
        mxServer,
      };
      await this.queue.complete(this.owner, event);
      log.warn({ response: outcome.response }, 'expired');
      return;
    }
    const event: DeferredEvent = { ...base, type: 'deferred', id: newEventId(), timestamp: now, response: outcome.response, attempt, nextAttemptAt, mxServer };
    await this.queue.defer(this.owner, event);
    log.info({ response: outcome.response, nextAttemptAt }, 'deferred');
  }

  /** Tells the cluster this process delivers, and learns how many share the connection limits. */
  private async beat(): Promise<void> {
    try {
      const peers = await this.peers!.beat(this.owner, 3 * PEER_BEAT_MS);
      this.shaper.setPeers(peers);
    } catch (error) {
      this.log.debug({ err: error }, 'heartbeat failed; keeping the last count of delivery processes');
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      await this.queue.extendLease(this.owner, [...this.inFlight.keys()], this.config.deliveryLeaseMs);
    } catch (error) {
      this.log.warn({ err: error }, 'lease renewal failed');
    }
  }
}

/**
 * A busy destination is claimed again once 1/CLAIM_WHEN_FREE of its slots are free. A claim's
 * transaction costs about as much as leasing ten more messages in it (measured on SQLite: ~140 µs
 * per claim of 10, ~320 µs per claim of 40), so fewer, larger claims spend less per message.
 */
const CLAIM_WHEN_FREE = 2;

/** Messages being recorded that do not count against `deliveryConcurrency`, per slot of it. */
const RECORDING_FACTOR = 4;

/** How often a delivery process says it is alive in cluster mode, ms; it counts for three of these. */
const PEER_BEAT_MS = 2000;

/** The log calls a delivery makes, bound to its message. */
type MessageLog = Record<'debug' | 'info' | 'warn' | 'error', (fields: object, msg: string) => void>;

/** A child logger made only when a delivery logs something: most deliveries log nothing at info. */
function messageLog(log: Logger, bindings: object): MessageLog {
  let child: Logger | null = null;
  const get = (): Logger => (child ??= log.child(bindings));
  return {
    debug: (fields, msg) => {
      if (log.isLevelEnabled('debug')) get().debug(fields, msg);
    },
    info: (fields, msg) => get().info(fields, msg),
    warn: (fields, msg) => get().warn(fields, msg),
    error: (fields, msg) => get().error(fields, msg),
  };
}

/** 259200000 → "72 h", 5400000 → "90 min", 1500 → "1.5 s". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
