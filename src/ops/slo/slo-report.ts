import type { SloStatus } from './slo-evaluator.js';
import type { SloAlertRecord } from './slo-store.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const round = (n: number): number => Math.round(n * 10_000) / 10_000;

/** One SLO as `GET /v1/slos` and `herald slo status --json` show it (snake_case, as Herald's API). */
export function sloJson(status: SloStatus, alerts: readonly SloAlertRecord[]) {
  const { slo } = status;
  return {
    name: slo.name,
    description: slo.description,
    objective: slo.objective,
    window: `${slo.windowDays}d`,
    sli: { kind: slo.sli.kind, ...('thresholdMs' in slo.sli ? { threshold_ms: slo.sli.thresholdMs } : {}) },
    totals: { good: status.period.good, bad: Math.max(0, status.period.total - status.period.good), total: status.period.total },
    error_budget_remaining: round(status.errorBudgetRemaining),
    burn_rates: Object.fromEntries([...Object.entries(status.windows).map(([w, s]) => [w, round(s.burnRate)]), [`${slo.windowDays}d`, round(status.period.burnRate)]]),
    windows_end: iso(status.until),
    alerts: alerts
      .filter((a) => a.slo === slo.name)
      .map((a) => ({ severity: a.severity, since: iso(a.since), reason: a.reason })),
  };
}

/** The rows of `herald slo status`: one per SLO, numbers as people read them. */
export function sloTable(statuses: readonly SloStatus[], alerts: readonly SloAlertRecord[]): { header: string[]; rows: string[][] } {
  const header = ['slo', 'objective', 'window', 'good', 'total', 'budget left', 'burn 5m', 'burn 1h', 'burn 6h', 'burn 1d', 'burn 3d', 'alerts'];
  const rows = statuses.map((s) => {
    const firing = alerts.filter((a) => a.slo === s.slo.name).map((a) => a.severity);
    return [
      s.slo.name,
      `${trim(s.slo.objective * 100)}%`,
      `${s.slo.windowDays}d`,
      String(s.period.good),
      String(s.period.total),
      `${trim(s.errorBudgetRemaining * 100, 1)}%`,
      ...(['5m', '1h', '6h', '1d', '3d'] as const).map((w) => trim(s.windows[w].burnRate, 2)),
      firing.length === 0 ? '-' : firing.join(','),
    ];
  });
  return { header, rows };
}

/** 99.95, 14.4, 0 — no trailing zeros. */
function trim(n: number, digits = 4): string {
  return String(Number(n.toFixed(digits)));
}
