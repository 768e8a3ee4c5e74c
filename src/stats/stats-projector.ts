import type { Logger } from 'pino';
import type { ActivityStore, EventLog } from '../events/event-log.js';
import type { HeraldEvent } from '../events/event.js';
import { requestIdOfMessage } from '../message/expand.js';
import { metricsOf } from './metrics.js';
import { mailboxProviderOf } from './mailbox-providers.js';
import { dayOf, type ProjectionLease, type StatsStore, type StatsTally } from './stats-store.js';

export interface StatsProjectorOptions {
  /**
   * Events read and counted per transaction. @defaultValue 500: a batch runs on the event loop,
   * so a small one keeps SMTP replies and HTTP requests from waiting behind it.
   */
  batch?: number;
  /** Wait between reads once caught up, ms. @defaultValue 500 */
  idleMs?: number;
  /** Wait after a failure, or between tries for the lead held by another process, ms. @defaultValue 2000 */
  retryMs?: number;
}

/**
 * Keeps the stats counters: tails the global event log from the position the stats store holds and
 * adds each batch's tallies together with the new position, in one transaction (so a restart
 * neither loses nor counts twice). An event's categories come from its message, looked up in one
 * batch per account; its mailbox provider from the recipient's domain; its day is the UTC day of
 * its timestamp. In a cluster every api process runs one, and the one holding the store's lead
 * projects while the others wait for it; stats lag the log by about `idleMs`.
 */
export class StatsProjector {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lease: ProjectionLease | null = null;
  /** Serialises steps of the loop and of catchUp(). */
  private turn: Promise<unknown> = Promise.resolve();
  /** Events counted by this projector since it was made. */
  projected = 0;
  /** Categories by account and request, oldest first (see `categoriesOf`). */
  private readonly categoryCache = new Map<string, readonly string[]>();

  constructor(
    private readonly events: EventLog,
    private readonly activity: ActivityStore,
    private readonly stats: StatsStore,
    private readonly log: Logger,
    private readonly options: StatsProjectorOptions = {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.turn.catch(() => {});
    await this.lease?.release().catch(() => {});
    this.lease = null;
  }

  /**
   * Counts everything appended to the log so far, and resolves when done: what a test awaits
   * instead of sleeping. Runs whether or not this process holds the lead (advance's
   * compare-and-set keeps it exact).
   */
  async catchUp(): Promise<void> {
    for (;;) {
      // A batch another projector counted first reads again from the position it left.
      if ((await this.step()).read === 0) return;
    }
  }

  /** Reads and counts one batch; `read` is how many events were read (0: caught up). */
  step(): Promise<{ read: number; counted: boolean }> {
    const next = this.turn.then(() => this.project());
    this.turn = next.catch(() => {});
    return next;
  }

  private async project(): Promise<{ read: number; counted: boolean }> {
    const from = await this.stats.position();
    const page = await this.events.readFrom(from, this.options.batch ?? DEFAULT_BATCH);
    if (page.events.length === 0) return { read: 0, counted: false };
    const tallies = talliesOf(page.events, await this.categoriesOf(page.events));
    const counted = await this.stats.advance(from, page.cursor, tallies);
    if (counted) this.projected += page.events.length;
    return { read: page.events.length, counted };
  }

  /**
   * The categories of the events' messages. Categories belong to the request (SendGrid has no
   * per-personalization categories), and a message's id is `<request id>.<n>` (src/message/expand.ts),
   * so one message per request is looked up (`requestIdOfMessage`) (per account, in one call each) and the answer is kept
   * for the request's other messages: a bulk request's hundreds of events cost one lookup.
   */
  private async categoriesOf(events: readonly HeraldEvent[]): Promise<Map<string, readonly string[]>> {
    const out = new Map<string, readonly string[]>();
    const wanted = new Map<string, Map<string, string>>(); // account → (request key → a message id)
    for (const e of events) {
      const key = requestKeyOf(e.accountId, e.messageId);
      const known = this.categoryCache.get(key);
      if (known !== undefined) {
        out.set(e.messageId, known);
        continue;
      }
      let ids = wanted.get(e.accountId);
      if (!ids) wanted.set(e.accountId, (ids = new Map()));
      if (!ids.has(key)) ids.set(key, e.messageId);
    }
    for (const [accountId, ids] of wanted) {
      const found = await this.activity.lookupMessages(accountId, [...ids.values()]);
      for (const [key, id] of ids) {
        const message = found.get(id);
        // A message not (or no longer) stored has no categories; it is not remembered, so a later
        // event of its request still looks its own up.
        if (message) this.remember(key, message.categories);
      }
    }
    for (const e of events) {
      if (!out.has(e.messageId)) out.set(e.messageId, this.categoryCache.get(requestKeyOf(e.accountId, e.messageId)) ?? []);
    }
    return out;
  }

  private remember(key: string, categories: readonly string[]): void {
    this.categoryCache.set(key, categories);
    if (this.categoryCache.size > CATEGORY_CACHE) this.categoryCache.delete(this.categoryCache.keys().next().value!);
  }

  private async run(): Promise<void> {
    const batch = this.options.batch ?? DEFAULT_BATCH;
    while (this.running) {
      let pause = this.options.idleMs ?? 500;
      try {
        if (!this.lease?.held()) {
          await this.lease?.release().catch(() => {});
          this.lease = await this.stats.lead();
        }
        if (!this.lease) pause = this.options.retryMs ?? 2000;
        else {
          const { read } = await this.step();
          if (read === batch) pause = 0;
        }
      } catch (error) {
        this.log.warn({ err: error }, 'stats projector: could not count events; retrying');
        pause = this.options.retryMs ?? 2000;
      }
      if (pause === 0) {
        // Behind: the next batch comes after whatever I/O is waiting, not before it.
        await new Promise<void>((resolve) => setImmediate(resolve));
      } else if (this.running) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.wake = null;
    }
  }
}

/** Events per batch (see `StatsProjectorOptions.batch`). */
const DEFAULT_BATCH = 500;
/** Requests whose categories are remembered. */
const CATEGORY_CACHE = 10_000;

/** The account and request a message belongs to. */
function requestKeyOf(accountId: string, messageId: string): string {
  return `${accountId}/${requestIdOfMessage(messageId)}`;
}

/** What a batch of events adds to the counters. Categories holding NUL are left out (no store keeps them). */
export function talliesOf(events: readonly HeraldEvent[], categoriesByMessage: ReadonlyMap<string, readonly string[]>): StatsTally[] {
  const tallies: StatsTally[] = [];
  for (const event of events) {
    const metrics = metricsOf(event);
    if (metrics.length === 0) continue;
    const categories = (categoriesByMessage.get(event.messageId) ?? []).filter((c) => c !== '' && !c.includes('\0'));
    const provider = mailboxProviderOf(event.email);
    const day = dayOf(event.timestamp);
    for (const { metric, unique } of metrics) {
      tallies.push({ accountId: event.accountId, day, metric, categories, provider, uniqueFor: unique ? event.messageId : null });
    }
  }
  return tallies;
}
