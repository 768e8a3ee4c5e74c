import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import type { CursorStore } from '../../events/event-relay.js';
import { JetStreamEventLog } from './jetstream-event-log.js';

export interface EventStreamSettings {
  natsUrl: string;
  natsEventStream: string;
  natsConfigBucket: string;
}

export interface EventStream {
  log: JetStreamEventLog;
  /** The relay's cursor, kept in the `<natsConfigBucket>_state` KV bucket. */
  cursors: CursorStore;
  close(): Promise<void>;
}

/** Connects to NATS, makes sure the event stream exists, and gives the relay what it writes to. */
export async function openEventStream(settings: EventStreamSettings): Promise<EventStream> {
  const { connect } = await import('@nats-io/transport-node');
  const { Kvm } = await import('@nats-io/kv');
  const nc: NatsConnection = await connect({ servers: settings.natsUrl.split(',').map((s) => s.trim()), name: `herald-relay-${process.pid}`, maxReconnectAttempts: -1 });
  try {
    const log = new JetStreamEventLog(nc, { stream: settings.natsEventStream });
    await log.ensureStream();
    const kv = await new Kvm(nc).create(`${settings.natsConfigBucket}_state`, { history: 1 });
    return { log, cursors: new KvCursor(kv, `relay.${settings.natsEventStream}`), close: () => nc.drain() };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

class KvCursor implements CursorStore {
  constructor(
    private readonly kv: KV,
    private readonly key: string,
  ) {}

  async read(): Promise<{ cursor: number; revision: number }> {
    const entry = await this.kv.get(this.key);
    if (!entry || entry.operation !== 'PUT') return { cursor: 0, revision: 0 };
    return { cursor: Number(entry.string()), revision: entry.revision };
  }

  async write(cursor: number, revision: number): Promise<number | null> {
    try {
      return revision === 0 ? await this.kv.create(this.key, String(cursor)) : await this.kv.update(this.key, String(cursor), revision);
    } catch (error) {
      // Wrong last sequence: another relay wrote first.
      if (/wrong last sequence|key exists/i.test((error as Error).message)) return null;
      throw error;
    }
  }
}
