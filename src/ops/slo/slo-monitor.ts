import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import type { HeraldConfig } from '../../config/settings.js';
import type { InstanceSecrets } from '../signing-keys.js';
import { ALERT_WINDOWS } from './burn-rate.js';
import { AlertSender, type AlertSenderOptions } from './alert-sender.js';
import { ecdsaSigner, loadAlertSigningKey, type PayloadSigner } from './alert-signer.js';
import { sloList } from './slo-definitions.js';
import { SloEvaluator, type AlertTransition } from './slo-evaluator.js';
import { registerSloMetrics, type SloSnapshot } from './slo-metrics.js';
import { SloRecorder } from './slo-recorder.js';
import type { SloStore } from './slo-store.js';

const DAY = 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 3600 * 1000;

export type SloSettings = Pick<HeraldConfig, 'slos' | 'sloAlertMinEvents' | 'sloFlushMs' | 'sloEvaluateMs' | 'sloAlertWebhookUrls'>;

export interface SloMonitorOptions {
  config: SloSettings;
  store: SloStore;
  /** Where the alert signing key is kept (made on first use). */
  secrets: InstanceSecrets;
  log: Logger;
  /** The clock; tests drive it. Default Date.now. */
  now?: () => number;
  /** Signs alert bodies; default: ECDSA P-256 with the key kept in the store. */
  signer?: PayloadSigner;
  sender?: AlertSenderOptions;
}

/**
 * The SLO machinery of one process: the recorder the HTTP hook and the metered queue count into,
 * the periodic flush and evaluation, pruning, alert logs and alert webhooks.
 */
export class SloMonitor {
  readonly recorder: SloRecorder;
  readonly evaluator: SloEvaluator;
  /** Base64 DER public key that verifies alert signatures. */
  readonly publicKey: string;
  private readonly sender: AlertSender;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timers: NodeJS.Timeout[] = [];
  private last: SloSnapshot | null = null;
  private evaluating: Promise<AlertTransition[]> | null = null;
  private readonly sending = new Set<Promise<unknown>>();

  private constructor(private readonly options: SloMonitorOptions, signer: PayloadSigner, publicKey: string) {
    const slos = sloList(options.config.slos);
    this.now = options.now ?? Date.now;
    this.log = options.log.child({ component: 'slo' });
    this.recorder = new SloRecorder(slos, options.store, this.now, this.log);
    this.evaluator = new SloEvaluator(slos, options.store, this.now, { minEvents: options.config.sloAlertMinEvents, flushMs: options.config.sloFlushMs });
    this.sender = new AlertSender(options.config.sloAlertWebhookUrls, signer, this.log, options.sender);
    this.publicKey = publicKey;
  }

  static async open(options: SloMonitorOptions): Promise<SloMonitor> {
    const key = await loadAlertSigningKey(options.secrets);
    return new SloMonitor(options, options.signer ?? ecdsaSigner(key.privateKey, options.now), key.publicKey);
  }

  /** Adds the SLO gauges to `registry` (Herald's /metrics), read from the last evaluation. */
  registerMetrics(registry: Registry): void {
    registerSloMetrics(registry, () => this.last);
  }

  /** Starts flushing, evaluating (once now) and pruning on timers. */
  start(): void {
    const every = (ms: number, work: () => Promise<unknown>) => {
      const timer = setInterval(() => void work().catch((error: unknown) => this.log.error({ err: error }, 'SLO work failed')), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.config.sloFlushMs, () => this.recorder.flush());
    every(this.options.config.sloEvaluateMs, () => this.evaluate());
    every(PRUNE_EVERY_MS, () => this.prune());
    void this.evaluate().catch((error: unknown) => this.log.error({ err: error }, 'SLO evaluation failed'));
  }

  /** The last evaluation (what /metrics shows), null before the first. */
  snapshot(): SloSnapshot | null {
    return this.last;
  }

  /**
   * Evaluates every SLO, logs each alert change (one line) and sends it to the alert webhooks
   * (in the background, retried). Returns the changes.
   */
  evaluate(): Promise<AlertTransition[]> {
    this.evaluating ??= (async () => {
      try {
        const { statuses, transitions, alerts } = await this.evaluator.evaluate();
        this.last = { statuses, alerts };
        for (const t of transitions) this.announce(t);
        return transitions;
      } finally {
        this.evaluating = null;
      }
    })();
    return this.evaluating;
  }

  /** Waits until the alert webhooks of every change so far have been delivered or given up. */
  async settled(): Promise<void> {
    while (this.sending.size > 0) await Promise.allSettled([...this.sending]);
  }

  /** Drops buckets older than the longest window any rule or SLO looks at. */
  async prune(): Promise<number> {
    const longest = Math.max(ALERT_WINDOWS['3d'], ...this.evaluator.slos.map((s) => s.windowDays * DAY));
    return this.options.store.prune(this.now() - longest - DAY);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.evaluating?.catch(() => {});
    await this.recorder.drain();
    await this.sender.stop();
  }

  private announce(t: AlertTransition): void {
    const { alert, status } = t;
    const burnRates = Object.fromEntries(Object.entries(status.windows).map(([w, s]) => [w, round(s.burnRate)]));
    const fields = { slo: alert.slo, severity: alert.severity, state: t.state, reason: alert.reason, since: new Date(alert.since).toISOString(), errorBudgetRemaining: round(status.errorBudgetRemaining), burnRates };
    if (t.state === 'firing') this.log.warn(fields, `SLO alert firing: ${alert.slo} (${alert.severity})`);
    else this.log.info(fields, `SLO alert resolved: ${alert.slo} (${alert.severity})`);
    if (this.options.config.sloAlertWebhookUrls.length === 0) return;
    const payload = JSON.stringify({
      type: 'slo_alert',
      id: randomUUID(),
      state: t.state,
      slo: alert.slo,
      description: status.slo.description,
      severity: alert.severity,
      objective: status.slo.objective,
      window_days: status.slo.windowDays,
      reason: alert.reason,
      since: new Date(alert.since).toISOString(),
      at: new Date(t.at).toISOString(),
      error_budget_remaining: round(status.errorBudgetRemaining),
      burn_rates: burnRates,
    });
    const sent = this.sender.send(payload).finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
