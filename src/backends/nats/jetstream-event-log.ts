import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { HeraldEvent } from '../../events/event.js';
import type { EventLog } from '../../events/event-log.js';

export interface JetStreamEventLogOptions {
  /** Stream name. @defaultValue HERALD_EVENTS */
  stream?: string;
  /** Subjects are `<prefix>.<accountId>.<type>`. @defaultValue the stream name in lower case, e.g. herald_events */
  subjectPrefix?: string;
  /**
   * When set, this log reads a stream that copies another one (a mirror or a source in another
   * datacenter) and refuses appends: events are written once, in the site that owns them.
   */
  readOnly?: boolean;
  /** How long a read waits for the first event after the cursor, ms. @defaultValue 500 */
  readWaitMs?: number;
}

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/**
 * The event log on a JetStream stream: the stream sequence is the cursor, and each event is
 * published with its id as `Nats-Msg-Id`, so an append repeated within the stream's duplicate
 * window (a retry after a lost ack) is stored once. It is how events leave PostgreSQL for the
 * consumers that fan them out (webhooks, other datacenters): a stream can be mirrored or sourced
 * into another site's JetStream cluster, and readers there use the same cursor semantics.
 */
export class JetStreamEventLog implements EventLog {
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private readonly prefix: string;
  private readonly readOnly: boolean;
  private readonly readWaitMs: number;

  constructor(
    private readonly nc: NatsConnection,
    options: JetStreamEventLogOptions = {},
  ) {
    this.js = jetstream(nc);
    this.stream = options.stream ?? 'HERALD_EVENTS';
    this.prefix = options.subjectPrefix ?? this.stream.toLowerCase();
    this.readOnly = options.readOnly ?? false;
    this.readWaitMs = options.readWaitMs ?? 500;
  }

  /** The stream's configuration for `ensureStream`, with its subjects. */
  streamConfig(extra: Partial<StreamConfig> = {}): Partial<StreamConfig> {
    return { name: this.stream, subjects: [`${this.prefix}.>`], duplicate_window: 2 * 60 * 1_000_000_000, ...extra };
  }

  /** Creates the stream, or updates it to `config`, and returns its manager for further setup. */
  async ensureStream(config: Partial<StreamConfig> = this.streamConfig()): Promise<JetStreamManager> {
    const jsm = await jetstreamManager(this.nc);
    try {
      await jsm.streams.info(this.stream);
      await jsm.streams.update(this.stream, config);
    } catch {
      await jsm.streams.add({ ...config, name: this.stream });
    }
    return jsm;
  }

  async append(events: HeraldEvent[]): Promise<void> {
    if (this.readOnly) throw new Error(`the event stream ${this.stream} is a copy: append in the site that owns it`);
    await Promise.all(
      events.map((event) =>
        this.js.publish(`${this.prefix}.${subjectToken(event.accountId)}.${event.type}`, ENCODER.encode(JSON.stringify(event)), { msgID: event.id }),
      ),
    );
  }

  async readFrom(cursor: number, limit: number): Promise<{ events: HeraldEvent[]; cursor: number }> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(this.stream);
    if (info.state.last_seq <= cursor || limit <= 0) return { events: [], cursor };
    const consumer = await this.js.consumers.get(this.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: cursor + 1 });
    const events: HeraldEvent[] = [];
    let next = cursor;
    try {
      const batch = await consumer.fetch({ max_messages: limit, expires: Math.max(1000, this.readWaitMs) });
      for await (const m of batch) {
        events.push(JSON.parse(DECODER.decode(m.data)) as HeraldEvent);
        next = m.seq;
        if (events.length >= limit || m.seq >= info.state.last_seq) break;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return { events, cursor: next };
  }

  async head(): Promise<number> {
    return (await (await jetstreamManager(this.nc)).streams.info(this.stream)).state.last_seq;
  }
}

/** NATS subject tokens cannot hold `.`, `*`, `>` or whitespace; account ids are base62, but be safe. */
function subjectToken(value: string): string {
  return value.replace(/[.*>\s]/g, '_') || '_';
}
