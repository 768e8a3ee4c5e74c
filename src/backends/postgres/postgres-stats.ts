import type { PoolClient } from 'pg';
import { sumTallies, uniqueCandidates, type ProjectionLease, type StatsCounter, type StatsReadQuery, type StatsStore, type StatsTally } from '../../stats/stats-store.js';
import type { StatsMetric } from '../../stats/metrics.js';
import type { PgDatabase } from './pg-database.js';

/** One projector per schema: a session advisory lock, released when its connection ends. */
const LEAD = "SELECT pg_try_advisory_lock(hashtext('herald.stats'), hashtext(current_schema())) AS got";
const UNLEAD = "SELECT pg_advisory_unlock(hashtext('herald.stats'), hashtext(current_schema()))";

/**
 * Stats counters in PostgreSQL. `advance` first moves the position with a compare-and-set UPDATE:
 * a second projector's UPDATE of the same row waits for the first to commit, then finds the
 * position moved and matches nothing (READ COMMITTED re-checks the WHERE on the new row), so it
 * rolls back without counting. The advisory lock in `lead` only keeps the others from doing the
 * reading for nothing.
 */
export class PostgresStats implements StatsStore {
  constructor(private readonly db: PgDatabase) {}

  async position(): Promise<number> {
    const [row] = await this.db.query<{ seq: number }>('SELECT seq FROM stats_position WHERE id = 1');
    return row!.seq;
  }

  async advance(from: number, to: number, tallies: readonly StatsTally[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const moved = await tx.query('UPDATE stats_position SET seq = $1 WHERE id = 1 AND seq = $2', [to, from]);
      if (moved.rowCount === 0) return false;
      const candidates = uniqueCandidates(tallies);
      const fresh = new Set<string>();
      if (candidates.length > 0) {
        const inserted = await tx.query<{ message_id: string; metric: string }>(
          `INSERT INTO stats_uniques (message_id, metric) SELECT * FROM unnest($1::text[], $2::text[])
            ON CONFLICT DO NOTHING RETURNING message_id, metric`,
          [candidates.map((c) => c.messageId), candidates.map((c) => c.metric)],
        );
        for (const r of inserted.rows) fresh.add(`${r.message_id}\0${r.metric}`);
      }
      const counters = sumTallies(tallies, (messageId: string, metric: StatsMetric) => fresh.has(`${messageId}\0${metric}`));
      if (counters.length > 0) {
        await tx.query(
          `INSERT INTO stats_counters (account_id, dimension, name, day, metric, count)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[])
            ON CONFLICT (account_id, dimension, name, day, metric) DO UPDATE SET count = stats_counters.count + EXCLUDED.count`,
          [
            counters.map((c) => c.accountId),
            counters.map((c) => c.dimension),
            counters.map((c) => c.name),
            counters.map((c) => c.day),
            counters.map((c) => c.metric),
            counters.map((c) => c.count),
          ],
        );
      }
      return true;
    });
  }

  async read(query: StatsReadQuery): Promise<StatsCounter[]> {
    const names = query.dimension === 'global' ? [''] : query.names;
    const rows = await this.db.query<{ account_id: string; dimension: StatsCounter['dimension']; name: string; day: number; metric: StatsMetric; count: number }>(
      `SELECT account_id, dimension, name, day, metric, count FROM stats_counters
        WHERE account_id = $1 AND dimension = $2 AND ($3::text[] IS NULL OR name = ANY($3::text[])) AND day BETWEEN $4 AND $5 AND count > 0`,
      [query.accountId, query.dimension, names === null ? null : names.filter((n) => !n.includes('\0')), query.fromDay, query.toDay],
    );
    return rows.map((r) => ({ accountId: r.account_id, dimension: r.dimension, name: r.name, day: Number(r.day), metric: r.metric, count: Number(r.count) }));
  }

  async lead(): Promise<ProjectionLease | null> {
    const client: PoolClient = await this.db.pool.connect();
    let held = true;
    try {
      const { rows } = await client.query<{ got: boolean }>(LEAD);
      if (!rows[0]!.got) {
        client.release();
        return null;
      }
    } catch (error) {
      client.release(true);
      throw error;
    }
    // The lock lives as long as this connection: if it drops, the lock is gone with it.
    const lost = () => {
      held = false;
    };
    client.on('error', lost);
    client.on('end', lost);
    return {
      held: () => held,
      release: async () => {
        if (!held) {
          client.release(true);
          return;
        }
        held = false;
        try {
          await client.query(UNLEAD);
          client.release();
        } catch {
          client.release(true);
        }
      },
    };
  }
}
