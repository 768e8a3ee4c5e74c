import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/settings.js';
import type { ClaimedMessage, MessageQueue } from '../queue/queue.js';
import { retryDelay } from '../queue/retry-policy.js';
import { newEventId, type BounceEvent, type DeferredEvent, type DeliveredEvent, type DroppedEvent } from '../events/event.js';
import type { SuppressionStore } from '../suppressions/suppression-store.js';
import { DROP_REASONS } from '../suppressions/auto-suppress.js';
import { composeMessage } from '../message/compose.js';
import type { DomainStore } from '../domains/domain-store.js';
import { signMessage } from '../domains/dkim-sign.js';
import { signingKeysFor } from '../domains/signing-keys.js';
import { classifyFailure } from './classify-reply.js';
import type { Transport } from './transport.js';

/**
 * Claims ready messages with a lease, composes and sends them, and records the outcome. Holds at
 * most `deliveryConcurrency` messages at once; renews the leases of slow deliveries; on stop,
 * waits up to the grace period and gives back what is still in flight.
 */
export class DeliveryWorker {
  readonly owner = `worker-${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly inFlight = new Map<string, Promise<void>>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private renewTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly queue: MessageQueue,
    private readonly suppressions: SuppressionStore,
    private readonly domains: DomainStore,
    private readonly transport: Transport,
    private readonly config: HeraldConfig,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.queue.onReady(() => this.wake?.());
    this.renewTimer = setInterval(() => void this.renewLeases(), Math.max(500, this.config.deliveryLeaseMs / 3));
    this.renewTimer.unref();
    this.loop = this.run();
  }

  /** Stops claiming; lets in-flight deliveries finish for up to `graceMs`, then releases the rest. */
  async stop(graceMs = this.config.shutdownGraceMs): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    this.unsubscribe?.();
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.loop;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight.values()]),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const released = await this.queue.release(this.owner);
    if (released > 0) this.log.info({ released }, 'released leases of unfinished deliveries');
  }

  get busy(): number {
    return this.inFlight.size;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const room = this.config.deliveryConcurrency - this.inFlight.size;
      // Claim in batches: one claim per freed slot would cost a transaction per message.
      const batch = Math.min(16, Math.ceil(this.config.deliveryConcurrency / 4));
      let claimed: ClaimedMessage[] = [];
      if (room >= batch || (room > 0 && this.inFlight.size === 0)) {
        try {
          claimed = await this.queue.claim(this.owner, Math.min(room, 256), this.config.deliveryLeaseMs);
        } catch (error) {
          this.log.error({ err: error }, 'claim failed; retrying');
        }
      }
      for (const c of claimed) {
        const p = this.deliver(c).finally(() => {
          this.inFlight.delete(c.message.id);
          this.wake?.();
        });
        this.inFlight.set(c.message.id, p);
      }
      if (claimed.length === 0 || this.config.deliveryConcurrency - this.inFlight.size < batch) await this.idle();
    }
  }

  /** Sleeps until new work, a free slot, or the next scheduled message, whichever comes first. */
  private async idle(): Promise<void> {
    let wait = this.config.deliveryPollMs;
    if (this.inFlight.size === 0) {
      const next = await this.queue.nextReadyAt().catch(() => null);
      if (next !== null) wait = Math.min(wait, Math.max(0, next - Date.now()));
    }
    if (wait === 0) return;
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

  private async deliver(claim: ClaimedMessage): Promise<void> {
    const { message, request } = claim;
    const attempt = claim.attempts + 1;
    const log = this.log.child({ messageId: message.id, attempt });
    const base = { accountId: message.accountId, messageId: message.id, email: message.recipient };
    if (await this.dropIfSuppressed(claim, log)) return;
    let raw: Buffer;
    try {
      raw = await composeMessage({
        request,
        personalizationIndex: message.personalizationIndex,
        messageId: message.id,
        hostname: this.config.hostname,
        date: message.createdAt,
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
      return;
    }
    try {
      // DKIM (RFC 6376) with the keys of the account's verified domain for the From address, if
      // any. A failure here (e.g. sealed keys without their key) defers: the message is not lost.
      raw = signMessage(raw, await signingKeysFor(this.domains, message.accountId, message.fromEmail));
      const result = await this.transport.send({
        accountId: message.accountId,
        messageId: message.id,
        envelope: { from: message.fromEmail, to: message.recipient },
        raw,
      });
      const event: DeliveredEvent = { ...base, type: 'delivered', id: newEventId(), timestamp: Date.now(), response: result.response, attempt, mxServer: result.mxServer };
      await this.queue.complete(this.owner, event);
      log.debug({ response: result.response }, 'delivered');
    } catch (error) {
      await this.recordFailure(claim, error, attempt, log).catch((e: unknown) => {
        // The lease runs out and the message is claimed again: nothing is lost.
        log.error({ err: e }, 'could not record the outcome of an attempt');
      });
    }
  }

  /**
   * Checked at delivery, not at accept: an address suppressed while its mail waits (send_at,
   * retries) is still spared. One indexed lookup per message. When the lookup itself fails, the
   * message is left to its lease and tried again later rather than sent unchecked.
   */
  private async dropIfSuppressed(claim: ClaimedMessage, log: Logger): Promise<boolean> {
    const { message, request } = claim;
    let match;
    try {
      match = await this.suppressions.find(message.accountId, message.recipient, request.asmGroupId ?? null);
    } catch (error) {
      log.error({ err: error }, 'could not check suppressions; the message will be tried again');
      return true;
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

  private async recordFailure(claim: ClaimedMessage, error: unknown, attempt: number, log: Logger): Promise<void> {
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

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      await this.queue.extendLease(this.owner, [...this.inFlight.keys()], this.config.deliveryLeaseMs);
    } catch (error) {
      this.log.warn({ err: error }, 'lease renewal failed');
    }
  }
}

/** 259200000 → "72 h", 5400000 → "90 min", 1500 → "1.5 s". */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
