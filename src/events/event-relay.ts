import type { Logger } from 'pino';
import type { EventLog } from './event-log.js';

/** Where the relay keeps how far it has read: a compare-and-set store, so two relays never both advance it. */
export interface CursorStore {
  /** The cursor and its revision; cursor 0 and revision 0 when none is stored yet. */
  read(): Promise<{ cursor: number; revision: number }>;
  /** Stores `cursor` if the stored revision is still `revision`; returns the new revision, or null when another writer won. */
  write(cursor: number, revision: number): Promise<number | null>;
}

export interface EventRelayOptions {
  /** Events per read. @defaultValue 500 */
  batch?: number;
  /** Wait between reads when there was nothing new, ms. @defaultValue 200 */
  idleMs?: number;
  /** Wait after a failure (store or stream down), ms. @defaultValue 1000 */
  retryMs?: number;
}

/**
 * Copies the event log (the record, in PostgreSQL or SQLite) into the event stream (JetStream),
 * in order, from a persisted cursor: the outbox pattern. It publishes first and stores the cursor
 * after, so a crash between the two publishes some events again, which the stream drops as
 * duplicates by event id (`Nats-Msg-Id`). With several relays running, the cursor's
 * compare-and-set lets one advance it; the other's publications are duplicates and dropped.
 */
export class EventRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  /** Events copied since start. */
  relayed = 0;

  constructor(
    private readonly from: EventLog,
    private readonly to: EventLog,
    private readonly cursors: CursorStore,
    private readonly log: Logger,
    private readonly options: EventRelayOptions = {},
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
  }

  private async run(): Promise<void> {
    const batch = this.options.batch ?? 500;
    while (this.running) {
      let pause = this.options.idleMs ?? 200;
      try {
        const { cursor, revision } = await this.cursors.read();
        const page = await this.from.readFrom(cursor, batch);
        if (page.events.length > 0) {
          await this.to.append(page.events);
          const stored = await this.cursors.write(page.cursor, revision);
          if (stored === null) this.log.info('another relay advanced the cursor first; reading on from its position');
          else this.relayed += page.events.length;
          if (page.events.length === batch) pause = 0;
        }
      } catch (error) {
        this.log.warn({ err: error }, 'event relay: could not copy events; retrying');
        pause = this.options.retryMs ?? 1000;
      }
      if (pause > 0 && this.running) await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pause);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }
}
