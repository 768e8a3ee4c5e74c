import type { AlertSeverity, SloAlertRecord, SloCount, SloStore, SloSums } from '../../ops/slo/slo-store.js';
import type { PgDatabase } from './pg-database.js';

/** SLO counts and alerts, shared by every process: counts add up in place, alert changes go to one winner. */
export class PostgresSlos implements SloStore {
  constructor(private readonly db: PgDatabase) {}

  async add(counts: readonly SloCount[]): Promise<void> {
    if (counts.length === 0) return;
    // One statement per batch. Rows in a fixed order, so two processes adding to the same buckets
    // take their row locks in the same order and never deadlock.
    const sorted = [...counts].sort((a, b) => (a.slo === b.slo ? a.bucket - b.bucket : a.slo < b.slo ? -1 : 1));
    const merged: SloCount[] = [];
    for (const c of sorted) {
      const last = merged[merged.length - 1];
      if (last && last.slo === c.slo && last.bucket === c.bucket) {
        last.good += c.good;
        last.total += c.total;
      } else merged.push({ ...c });
    }
    await this.db.query(
      `INSERT INTO slo_buckets (slo, bucket, good, total)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
        ON CONFLICT (slo, bucket) DO UPDATE SET good = slo_buckets.good + excluded.good, total = slo_buckets.total + excluded.total`,
      [merged.map((c) => c.slo), merged.map((c) => c.bucket), merged.map((c) => c.good), merged.map((c) => c.total)],
    );
  }

  async sums(slo: string, froms: readonly number[], until: number): Promise<SloSums[]> {
    if (froms.length === 0) return [];
    const columns = froms.map((_, i) => `SUM(good) FILTER (WHERE bucket >= $${i + 4}) AS g${i}, SUM(total) FILTER (WHERE bucket >= $${i + 4}) AS t${i}`);
    const [row] = await this.db.query<Record<string, string | number | null>>(
      `SELECT ${columns.join(', ')} FROM slo_buckets WHERE slo = $1 AND bucket >= $2 AND bucket < $3`,
      [slo, Math.min(...froms), until, ...froms],
    );
    // SUM of BIGINT is NUMERIC, which pg hands back as text.
    return froms.map((_, i) => ({ good: Number(row?.[`g${i}`] ?? 0), total: Number(row?.[`t${i}`] ?? 0) }));
  }

  async prune(before: number): Promise<number> {
    return (await this.db.pool.query('DELETE FROM slo_buckets WHERE bucket < $1', [before])).rowCount ?? 0;
  }

  async alerts(): Promise<SloAlertRecord[]> {
    return this.db.query<SloAlertRecord>('SELECT slo, severity, since, reason FROM slo_alerts ORDER BY since, slo, severity');
  }

  async openAlert(alert: SloAlertRecord): Promise<boolean> {
    const rows = await this.db.query('INSERT INTO slo_alerts (slo, severity, since, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (slo, severity) DO NOTHING RETURNING slo', [alert.slo, alert.severity, alert.since, alert.reason]);
    return rows.length === 1;
  }

  async closeAlert(slo: string, severity: AlertSeverity): Promise<SloAlertRecord | null> {
    const [row] = await this.db.query<SloAlertRecord>('DELETE FROM slo_alerts WHERE slo = $1 AND severity = $2 RETURNING slo, severity, since, reason', [slo, severity]);
    return row ?? null;
  }
}
