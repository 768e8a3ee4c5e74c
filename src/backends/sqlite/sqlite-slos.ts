import type Database from 'better-sqlite3';
import type { AlertSeverity, SloAlertRecord, SloCount, SloStore, SloSums } from '../../ops/slo/slo-store.js';
import type { GroupCommitter } from './group-commit.js';

/** SLO counts and alerts on the relaxed connection: counts are measurements, a lost last commit costs a few seconds of them. */
export class SqliteSlos implements SloStore {
  private readonly stmt;
  private readonly sumStatements = new Map<number, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly committer: GroupCommitter,
  ) {
    this.stmt = {
      add: db.prepare(`INSERT INTO slo_buckets (slo, bucket, good, total) VALUES (?, ?, ?, ?)
        ON CONFLICT (slo, bucket) DO UPDATE SET good = good + excluded.good, total = total + excluded.total`),
      prune: db.prepare('DELETE FROM slo_buckets WHERE bucket < ?'),
      alerts: db.prepare('SELECT slo, severity, since, reason FROM slo_alerts ORDER BY since, slo, severity'),
      open: db.prepare('INSERT OR IGNORE INTO slo_alerts (slo, severity, since, reason) VALUES (?, ?, ?, ?)'),
      close: db.prepare('DELETE FROM slo_alerts WHERE slo = ? AND severity = ? RETURNING slo, severity, since, reason'),
    };
  }

  async add(counts: readonly SloCount[]): Promise<void> {
    if (counts.length === 0) return;
    await this.committer.submit(() => {
      for (const c of counts) this.stmt.add.run(c.slo, c.bucket, c.good, c.total);
    });
  }

  async sums(slo: string, froms: readonly number[], until: number): Promise<SloSums[]> {
    if (froms.length === 0) return [];
    const row = this.sumStatement(froms.length).get(...froms.flatMap((f) => [f, f]), slo, Math.min(...froms), until) as Record<string, number | null>;
    return froms.map((_, i) => ({ good: row[`g${i}`] ?? 0, total: row[`t${i}`] ?? 0 }));
  }

  async prune(before: number): Promise<number> {
    return this.committer.submit(() => this.stmt.prune.run(before).changes);
  }

  async alerts(): Promise<SloAlertRecord[]> {
    return this.stmt.alerts.all() as SloAlertRecord[];
  }

  async openAlert(alert: SloAlertRecord): Promise<boolean> {
    return this.committer.submit(() => this.stmt.open.run(alert.slo, alert.severity, alert.since, alert.reason).changes === 1);
  }

  async closeAlert(slo: string, severity: AlertSeverity): Promise<SloAlertRecord | null> {
    return this.committer.submit(() => (this.stmt.close.get(slo, severity) as SloAlertRecord | undefined) ?? null);
  }

  /** One pass over the longest window, a conditional sum per window. */
  private sumStatement(n: number): Database.Statement {
    let stmt = this.sumStatements.get(n);
    if (!stmt) {
      const columns = Array.from({ length: n }, (_, i) => `SUM(CASE WHEN bucket >= ? THEN good END) AS g${i}, SUM(CASE WHEN bucket >= ? THEN total END) AS t${i}`);
      stmt = this.db.prepare(`SELECT ${columns.join(', ')} FROM slo_buckets WHERE slo = ? AND bucket >= ? AND bucket < ?`);
      this.sumStatements.set(n, stmt);
    }
    return stmt;
  }
}
