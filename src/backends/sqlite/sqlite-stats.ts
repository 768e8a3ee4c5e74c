import type Database from 'better-sqlite3';
import type { GroupCommitter } from './group-commit.js';
import { sumTallies, type ProjectionLease, type StatsCounter, type StatsReadQuery, type StatsStore, type StatsTally } from '../../stats/stats-store.js';
import type { StatsMetric } from '../../stats/metrics.js';

/**
 * Stats counters in the SQLite file. One Herald process owns a data directory, so the lease is
 * always granted; the position's compare-and-set still keeps two projectors in one process honest.
 * Writes go through the relaxed connection's group commit: after a power cut the counters and the
 * position fall back together, and the events past it are counted again.
 */
export class SqliteStats implements StatsStore {
  private readonly stmt;

  constructor(
    private readonly db: Database.Database,
    private readonly committer: GroupCommitter,
  ) {
    this.stmt = {
      position: db.prepare('SELECT seq FROM stats_position WHERE id = 1'),
      move: db.prepare('UPDATE stats_position SET seq = ? WHERE id = 1 AND seq = ?'),
      unique: db.prepare('INSERT OR IGNORE INTO stats_uniques (message_id, metric) VALUES (?, ?)'),
      add: db.prepare(`INSERT INTO stats_counters (account_id, dimension, name, day, metric, count) VALUES (@accountId, @dimension, @name, @day, @metric, @count)
        ON CONFLICT (account_id, dimension, name, day, metric) DO UPDATE SET count = count + excluded.count`),
    };
  }

  async position(): Promise<number> {
    return (this.stmt.position.get() as { seq: number }).seq;
  }

  async advance(from: number, to: number, tallies: readonly StatsTally[]): Promise<boolean> {
    return this.committer.submit(() => {
      if (this.stmt.move.run(to, from).changes === 0) return false;
      const isNew = (messageId: string, metric: StatsMetric) => this.stmt.unique.run(messageId, metric).changes === 1;
      for (const counter of sumTallies(tallies, isNew)) this.stmt.add.run(counter);
      return true;
    });
  }

  async read(query: StatsReadQuery): Promise<StatsCounter[]> {
    const names = query.dimension === 'global' ? [''] : query.names;
    const nameFilter = names === null ? '' : `AND name IN (${names.map(() => '?').join(',')})`;
    const rows = this.db
      .prepare(`SELECT account_id, dimension, name, day, metric, count FROM stats_counters
        WHERE account_id = ? AND dimension = ? ${nameFilter} AND day BETWEEN ? AND ? AND count > 0`)
      .all(query.accountId, query.dimension, ...(names ?? []), query.fromDay, query.toDay) as { account_id: string; dimension: StatsCounter['dimension']; name: string; day: number; metric: StatsMetric; count: number }[];
    return rows.map((r) => ({ accountId: r.account_id, dimension: r.dimension, name: r.name, day: r.day, metric: r.metric, count: r.count }));
  }

  async lead(): Promise<ProjectionLease> {
    return { held: () => true, release: async () => {} };
  }
}
