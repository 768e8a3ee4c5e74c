import type { Logger } from 'pino';
import { HeraldError } from '../errors.js';
import { checkSetting } from './load.js';
import { LIVE_SETTINGS, type HeraldConfig, type LiveSetting } from './settings.js';

/** Called with the whole effective configuration each time a live setting changes. */
export type ConfigListener = (config: HeraldConfig, version: number) => void;

/**
 * Live configuration over NATS KV: one key per live setting (`LIVE_SETTINGS`) in the
 * `natsConfigBucket` bucket, its value the setting's JSON. Every process watches the bucket and
 * applies each change on top of its start-up configuration; a deleted key falls back to it. The
 * version is the KV revision of the last change applied, the same number in every process once
 * they have caught up (`/healthz` reports it). A value that does not pass the setting's check is
 * logged and ignored: a bad write never takes a running fleet down.
 */
export class LiveConfig {
  private current: HeraldConfig;
  private version = 0;
  private readonly listeners = new Set<ConfigListener>();
  private stopWatch: (() => void) | null = null;
  private closeConnection: (() => Promise<void>) | null = null;

  private constructor(
    private readonly base: HeraldConfig,
    private readonly log: Logger,
  ) {
    this.current = base;
  }

  /** A live configuration that never changes (no NATS configured). */
  static fixed(config: HeraldConfig, log: Logger): LiveConfig {
    return new LiveConfig(config, log);
  }

  /** Connects to NATS, reads the bucket's current values, then keeps watching it. */
  static async watch(config: HeraldConfig, log: Logger): Promise<LiveConfig> {
    const live = new LiveConfig(config, log);
    const { kv, close } = await openBucket(config);
    live.closeConnection = close;
    const overrides = new Map<string, unknown>();
    const watcher = await kv.watch({ key: '>' });
    let ready!: () => void;
    const caughtUp = new Promise<void>((resolve) => (ready = resolve));
    const status = await kv.status();
    if (status.values === 0) ready();
    void (async () => {
      for await (const entry of watcher) {
        const key = entry.key;
        if ((LIVE_SETTINGS as readonly string[]).includes(key)) {
          let ok = true;
          if (entry.operation === 'PUT') {
            try {
              overrides.set(key, checkSetting(key, JSON.parse(entry.string()), `NATS KV ${config.natsConfigBucket}/${key}`));
            } catch (error) {
              ok = false;
              log.error({ err: error, key, revision: entry.revision }, 'ignored a live setting that does not pass its check; the previous value stays');
            }
          } else overrides.delete(key);
          if (ok) live.apply(overrides, entry.revision);
        } else {
          log.warn({ key }, 'ignored a key in the live configuration bucket that is not a live setting');
        }
        if (entry.delta === 0 || entry.isUpdate) ready();
      }
    })();
    live.stopWatch = () => watcher.stop();
    // Start with what the bucket holds now, not the defaults, or a restart would undo live changes.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([caughtUp, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    return live;
  }

  get config(): HeraldConfig {
    return this.current;
  }

  /** KV revision of the last change applied; 0 when nothing has been set live. */
  get configVersion(): number {
    return this.version;
  }

  onChange(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.stopWatch?.();
    await this.closeConnection?.();
  }

  private apply(overrides: Map<string, unknown>, revision: number): void {
    this.current = { ...this.base, ...Object.fromEntries(overrides) } as HeraldConfig;
    this.version = revision;
    this.log.info({ configVersion: revision, live: [...overrides.keys()] }, 'applied a live configuration change');
    for (const listener of this.listeners) listener(this.current, revision);
  }
}

/** Writes, reads and removes live settings: what `herald config` does. */
export async function setLiveSetting(config: HeraldConfig, key: string, value: unknown): Promise<number> {
  liveKey(key);
  const checked = checkSetting(key, value, `herald config set ${key}`);
  const { kv, close } = await openBucket(config);
  try {
    return await kv.put(key, JSON.stringify(checked));
  } finally {
    await close();
  }
}

export async function unsetLiveSetting(config: HeraldConfig, key: string): Promise<void> {
  liveKey(key);
  const { kv, close } = await openBucket(config);
  try {
    await kv.delete(key);
  } finally {
    await close();
  }
}

/** The live settings currently set, with their revisions. */
export async function readLiveSettings(config: HeraldConfig): Promise<{ key: LiveSetting; value: unknown; revision: number }[]> {
  const { kv, close } = await openBucket(config);
  try {
    const out: { key: LiveSetting; value: unknown; revision: number }[] = [];
    for (const key of LIVE_SETTINGS) {
      const entry = await kv.get(key);
      if (entry && entry.operation === 'PUT') out.push({ key, value: JSON.parse(entry.string()), revision: entry.revision });
    }
    return out;
  } finally {
    await close();
  }
}

function liveKey(key: string): asserts key is LiveSetting {
  if (!(LIVE_SETTINGS as readonly string[]).includes(key)) {
    throw new HeraldError('HERALD_ERR_CONFIG', { message: `${key} cannot change while Herald runs; live settings: ${LIVE_SETTINGS.join(', ')}` });
  }
}

async function openBucket(config: HeraldConfig) {
  if (!config.natsUrl) throw new HeraldError('HERALD_ERR_CONFIG', { message: 'live configuration needs natsUrl (NATS with JetStream)' });
  // Loaded only here: the embedded default never loads the NATS client.
  const { connect } = await import('@nats-io/transport-node');
  const { Kvm } = await import('@nats-io/kv');
  const nc = await connect({ servers: config.natsUrl.split(',').map((s) => s.trim()), name: `herald-${process.pid}`, maxReconnectAttempts: -1 });
  try {
    const kv = await new Kvm(nc).create(config.natsConfigBucket, { history: 10 });
    return { kv, close: () => nc.drain() };
  } catch (error) {
    await nc.close();
    throw error;
  }
}
