import { HeraldError } from '../errors.js';
import type { MessageQueue } from './queue.js';

/** How long a measured queue depth is trusted before it is read again, ms. */
const FRESH_MS = 1000;

/**
 * Refuses new mail while the queue holds `maxQueuedMessages` or more (DESIGN.md principle 4):
 * past that, delivery is not keeping up, and accepting more only grows the backlog, the store
 * and the time to deliver. The depth is read at most once a second, with the messages this
 * process accepted since added on, so the bound costs one cheap count per second, not per request.
 */
export class BacklogGuard {
  private depth = 0;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly queue: MessageQueue,
    private readonly maxQueuedMessages: number,
  ) {}

  /** Throws HERALD_ERR_BACKLOG_FULL (429) when `incoming` more messages would pass the bound. */
  async admit(incoming: number): Promise<void> {
    if (Date.now() - this.readAt > FRESH_MS) {
      this.reading ??= this.queue.depth().then(
        (d) => {
          this.depth = d.ready + d.scheduled + d.leased;
          this.readAt = Date.now();
          this.reading = null;
        },
        (error: unknown) => {
          this.reading = null;
          throw error;
        },
      );
      await this.reading;
    }
    if (this.depth + incoming > this.maxQueuedMessages) {
      throw new HeraldError('HERALD_ERR_BACKLOG_FULL', {
        message: `Herald's queue holds ${this.depth} messages, at its bound of ${this.maxQueuedMessages}: delivery is behind. Retry later.`,
      });
    }
  }

  /** Counts messages accepted since the last reading, until the next one. */
  accepted(count: number): void {
    this.depth += count;
  }
}
