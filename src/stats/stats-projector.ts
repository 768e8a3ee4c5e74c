import type { Logger } from 'pino';
import type { ActivityStore, EventLog, MessageSummary } from '../events/event-log.js';
import type { HeraldEvent } from '../events/event.js';
import { metricsOf } from './metrics.js';
import { mailboxProviderOf } from './mailbox-providers.js';
import { dayOf, type ProjectionLease, type StatsStore, type StatsTally } from './stats-store.js';

export interface StatsProjectorOptions {
  /** Events read and counted per transaction. @defaultValue 2000 */
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
    const page = await this.events.readFrom(from, this.options.batch ?? 2000);
    if (page.events.length === 0) return { read: 0, counted: false };
    const tallies = talliesOf(page.events, await this.messagesOf(page.events));
    const counted = await this.stats.advance(from, page.cursor, tallies);
    if (counted) this.projected += page.events.length;
    return { read: page.events.length, counted };
  }

  /** The messages of the events, looked up per account in one call each. */
  private async messagesOf(events: readonly HeraldEvent[]): Promise<Map<string, MessageSummary>> {
    const byAccount = new Map<string, Set<string>>();
    for (const e of events) {
      let ids = byAccount.get(e.accountId);
      if (!ids) byAccount.set(e.accountId, (ids = new Set()));
      ids.add(e.messageId);
    }
    const found = new Map<string, MessageSummary>();
    for (const [accountId, ids] of byAccount) {
      for (const [id, m] of await this.activity.lookupMessages(accountId, [...ids])) found.set(id, m);
    }
    return found;
  }

  private async run(): Promise<void> {
    const batch = this.options.batch ?? 2000;
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
      if (pause > 0 && this.running) {
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

/** What a batch of events adds to the counters. Categories holding NUL are left out (no store keeps them). */
export function talliesOf(events: readonly HeraldEvent[], messages: ReadonlyMap<string, MessageSummary>): StatsTally[] {
  const tallies: StatsTally[] = [];
  for (const event of events) {
    const metrics = metricsOf(event);
    if (metrics.length === 0) continue;
    const message = messages.get(event.messageId);
    const categories = (message?.categories ?? []).filter((c) => c !== '' && !c.includes('\0'));
    const provider = mailboxProviderOf(event.email);
    const day = dayOf(event.timestamp);
    for (const { metric, unique } of metrics) {
      tallies.push({ accountId: event.accountId, day, metric, categories, provider, uniqueFor: unique ? event.messageId : null });
    }
  }
  return tallies;
}
