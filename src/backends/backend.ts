import type { HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';
import type { AccountStore } from '../accounts/account-store.js';
import type { MessageQueue } from '../queue/queue.js';
import type { ActivityStore, EventLog } from '../events/event-log.js';
import type { EngagementLog } from '../events/engagement-log.js';
import type { InstanceSecrets } from '../ops/signing-keys.js';
import type { CaptureInbox } from '../delivery/capture-inbox.js';
import type { TemplateStore } from '../message/template-store.js';
import type { DomainStore } from '../domains/domain-store.js';
import type { DashboardStore } from '../dashboard/dashboard-store.js';
import type { SuppressionStore } from '../suppressions/suppression-store.js';
import type { TrackingSettingsStore } from '../tracking/tracking-settings.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';
import type { AccountLimitStore } from '../accounts/account-limits.js';
import type { DeliveryPeers, SharedRateLimiter } from '../delivery/cluster-limits.js';
import type { StatsStore } from '../stats/stats-store.js';
import type { SloStore } from '../ops/slo/slo-store.js';

/** Every port, built by one backend that owns the connections behind them. */
export interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  readonly accounts: AccountStore;
  /** Per-account request rates and daily message quotas, and their overrides. */
  readonly limits: AccountLimitStore;
  readonly queue: MessageQueue;
  readonly events: EventLog;
  readonly engagement: EngagementLog;
  readonly activity: ActivityStore;
  readonly inbox: CaptureInbox;
  readonly templates: TemplateStore;
  readonly domains: DomainStore;
  readonly suppressions: SuppressionStore;
  readonly secrets: InstanceSecrets;
  /** Per-account open, click and subscription tracking defaults. */
  readonly trackingSettings: TrackingSettingsStore;
  /** Event Webhook endpoints and their dispatch state (cursor, outboxes, leases). */
  readonly webhooks: WebhookStore;
  /** Stats counters the stats projector keeps from the event log. */
  readonly stats: StatsStore;
  /** SLO counts per minute and firing SLO alerts, shared by every process on the store. */
  readonly slos: SloStore;
  /** Dashboard users and their sessions. */
  readonly dashboard: DashboardStore;
  /**
   * Per-destination rate limits shared by every process on this store; null when one process is
   * all there is (SQLite), where the delivery worker's own token buckets are exact.
   */
  readonly rates: SharedRateLimiter | null;
  /** The delivery processes sharing this store, to split connection limits; null when there is one. */
  readonly peers: DeliveryPeers | null;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenBackendOptions {
  /**
   * Take the data directory for this process alone (the server); tools that only read or add keys
   * open it shared. Default false.
   */
  exclusive?: boolean;
}

/** Builds the configured backend, loading its driver only now (the embedded default never loads pg). */
export async function openBackend(config: HeraldConfig, options: OpenBackendOptions = {}): Promise<Backend> {
  if (config.backend === 'postgres') {
    if (!config.databaseUrl) throw new HeraldError('HERALD_ERR_CONFIG', { message: 'backend is postgres but databaseUrl is not set' });
    const { openPostgresBackend } = await import('./postgres/postgres-backend.js');
    return openPostgresBackend(
      { databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema, databasePoolSize: config.databasePoolSize, dkimKeyEncryptionKey: config.dkimKeyEncryptionKey },
      options,
    );
  }
  const { openSqliteBackend } = await import('./sqlite/sqlite-backend.js');
  return openSqliteBackend(config.dataDir, options, { dkimKeyEncryptionKey: config.dkimKeyEncryptionKey });
}
