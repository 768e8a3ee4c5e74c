import { ALERT_WINDOWS, BURN_RATE_RULES, BUCKET_MS, CLEAR_FACTOR, bucketOf, burnRate, errorBudgetRemaining, type AlertWindow, type BurnRateRule } from './burn-rate.js';
import type { SloDefinition } from './slo-definitions.js';
import type { AlertSeverity, SloAlertRecord, SloStore } from './slo-store.js';

const DAY = 24 * 3600 * 1000;
const SEVERITIES: readonly AlertSeverity[] = ['page', 'ticket'];

export interface SloWindowStatus {
  good: number;
  total: number;
  /** (bad / total) / (1 − objective); 0 without events. */
  burnRate: number;
}

export interface RuleStatus extends BurnRateRule {
  longBurnRate: number;
  shortBurnRate: number;
  /** Events in the long window; below `sloAlertMinEvents` the rule never holds. */
  longTotal: number;
  /** Whether it holds now (both windows above its rate, with enough traffic). */
  holds: boolean;
}

export interface SloStatus {
  slo: SloDefinition;
  /** Epoch ms the windows end at (exclusive); every window is the whole minutes before it. */
  until: number;
  /** Counts over the SLO's own window (`windowDays`). */
  period: SloWindowStatus;
  /** Share of the window's error budget left: 1 untouched, below 0 overspent. */
  errorBudgetRemaining: number;
  windows: Record<AlertWindow, SloWindowStatus>;
  rules: RuleStatus[];
}

export interface AlertTransition {
  state: 'firing' | 'resolved';
  alert: SloAlertRecord;
  /** Epoch ms of the evaluation that made the change. */
  at: number;
  status: SloStatus;
}

export interface SloEvaluatorOptions {
  /** Events the long window of a rule needs before the rule may hold (`sloAlertMinEvents`). */
  minEvents: number;
  /** How often processes write their counts, ms (`sloFlushMs`): time-to-deliver waits this twice over. */
  flushMs: number;
}

/**
 * Computes each SLO's windows, burn rates and error budget from the store at `now()`, and moves
 * alerts between firing and resolved. The alert state lives in the store, so a restart does not
 * fire an alert again and, in a cluster, one process makes each change (and announces it).
 */
export class SloEvaluator {
  constructor(
    readonly slos: readonly SloDefinition[],
    private readonly store: SloStore,
    private readonly now: () => number,
    private readonly options: SloEvaluatorOptions,
  ) {}

  /** Where every SLO stands now; changes nothing. */
  async statuses(): Promise<SloStatus[]> {
    const now = this.now();
    return Promise.all(this.slos.map((slo) => this.statusOf(slo, now)));
  }

  /** Where every SLO stands, with the alert changes this evaluation made and the alerts firing after it. */
  async evaluate(): Promise<{ statuses: SloStatus[]; transitions: AlertTransition[]; alerts: SloAlertRecord[] }> {
    const at = this.now();
    const statuses = await Promise.all(this.slos.map((slo) => this.statusOf(slo, at)));
    const firing = await this.store.alerts();
    const transitions: AlertTransition[] = [];
    for (const status of statuses) {
      for (const severity of SEVERITIES) {
        const rules = status.rules.filter((r) => r.severity === severity);
        const active = firing.find((a) => a.slo === status.slo.name && a.severity === severity);
        const holding = rules.filter((r) => r.holds);
        if (!active && holding.length > 0) {
          const alert: SloAlertRecord = { slo: status.slo.name, severity, since: at, reason: holding.map(describe).join('; ') };
          if (await this.store.openAlert(alert)) transitions.push({ state: 'firing', alert, at, status });
        } else if (active && !rules.some((r) => this.holds(r, r.longBurnRate, r.shortBurnRate, r.longTotal, CLEAR_FACTOR))) {
          const closed = await this.store.closeAlert(status.slo.name, severity);
          if (closed) transitions.push({ state: 'resolved', alert: closed, at, status });
        }
      }
    }
    const names = new Set(this.slos.map((s) => s.name));
    const alerts = transitions.length === 0 ? firing : await this.store.alerts();
    return { statuses, transitions, alerts: alerts.filter((a) => names.has(a.slo)) };
  }

  /** The alerts firing now, of the configured SLOs. */
  async alerts(): Promise<SloAlertRecord[]> {
    const names = new Set(this.slos.map((s) => s.name));
    return (await this.store.alerts()).filter((a) => names.has(a.slo));
  }

  private async statusOf(slo: SloDefinition, now: number): Promise<SloStatus> {
    // Request SLIs count as events happen: their windows end with the current minute. A
    // time-to-deliver bucket is final only once all its deadlines are past and every process has
    // written what it delivered by them (two flush intervals).
    const until = slo.sli.kind === 'time-to-deliver' ? bucketOf(now - 2 * this.options.flushMs) : bucketOf(now) + BUCKET_MS;
    const names = Object.keys(ALERT_WINDOWS) as AlertWindow[];
    const froms = [...names.map((n) => until - ALERT_WINDOWS[n]), until - slo.windowDays * DAY];
    const sums = await this.store.sums(slo.name, froms, until);
    const window = (i: number): SloWindowStatus => {
      const { good, total } = sums[i]!;
      return { good, total, burnRate: burnRate(good, total, slo.objective) };
    };
    const windows = Object.fromEntries(names.map((n, i) => [n, window(i)])) as Record<AlertWindow, SloWindowStatus>;
    const period = window(names.length);
    const rules = BURN_RATE_RULES.map((rule) => {
      const long = windows[rule.long];
      const short = windows[rule.short];
      return { ...rule, longBurnRate: long.burnRate, shortBurnRate: short.burnRate, longTotal: long.total, holds: this.holds(rule, long.burnRate, short.burnRate, long.total, 1) };
    });
    return { slo, until, period, errorBudgetRemaining: errorBudgetRemaining(period.good, period.total, slo.objective), windows, rules };
  }

  private holds(rule: BurnRateRule, long: number, short: number, longTotal: number, factor: number): boolean {
    return longTotal >= this.options.minEvents && long > rule.rate * factor && short > rule.rate * factor;
  }
}

function describe(r: RuleStatus): string {
  return `burn rate ${r.longBurnRate.toFixed(1)} over ${r.long} and ${r.shortBurnRate.toFixed(1)} over ${r.short} (threshold ${r.rate})`;
}
