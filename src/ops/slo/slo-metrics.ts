import { Gauge, type Registry } from 'prom-client';
import { ALERT_WINDOWS, type AlertWindow } from './burn-rate.js';
import type { SloStatus } from './slo-evaluator.js';
import type { SloAlertRecord } from './slo-store.js';

/** The last evaluation, as the gauges read it at scrape time. */
export interface SloSnapshot {
  statuses: SloStatus[];
  alerts: SloAlertRecord[];
}

/**
 * SLO gauges in Herald's registry, read from the last evaluation (every `sloEvaluateMs`). Labels are
 * bounded: at most 20 SLO names, the alert windows plus each SLO's own window, two severities.
 */
export function registerSloMetrics(registry: Registry, last: () => SloSnapshot | null): void {
  new Gauge({
    name: 'herald_slo_objective_ratio',
    help: 'Objective of each SLO: the share of events that must be good.',
    labelNames: ['slo'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of last()?.statuses ?? []) this.set({ slo: s.slo.name }, s.slo.objective);
    },
  });
  new Gauge({
    name: 'herald_slo_error_budget_remaining_ratio',
    help: "Share of the error budget left over each SLO's window (1 untouched, below 0 overspent).",
    labelNames: ['slo'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of last()?.statuses ?? []) this.set({ slo: s.slo.name }, s.errorBudgetRemaining);
    },
  });
  new Gauge({
    name: 'herald_slo_burn_rate',
    help: "Error budget burn rate ((bad/total)/(1-objective)) per SLO over each alert window and the SLO's own.",
    labelNames: ['slo', 'window'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of last()?.statuses ?? []) {
        for (const [window, w] of Object.entries(s.windows)) this.set({ slo: s.slo.name, window }, w.burnRate);
        const own = `${s.slo.windowDays}d`;
        // A 1-day or 3-day SLO window is already there under its alert-window name.
        if (!(own in ALERT_WINDOWS)) this.set({ slo: s.slo.name, window: own as AlertWindow }, s.period.burnRate);
      }
    },
  });
  new Gauge({
    name: 'herald_slo_alert_firing',
    help: 'Whether an SLO alert of each severity (page, ticket) is firing (1) or not (0).',
    labelNames: ['slo', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      const snapshot = last();
      for (const s of snapshot?.statuses ?? []) {
        for (const severity of ['page', 'ticket'] as const) {
          this.set({ slo: s.slo.name, severity }, snapshot!.alerts.some((a) => a.slo === s.slo.name && a.severity === severity) ? 1 : 0);
        }
      }
    },
  });
}
