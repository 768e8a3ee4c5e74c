import type { DeliveryPeers } from '../../delivery/cluster-limits.js';
import type { PgDatabase } from './pg-database.js';

/** Delivery processes' heartbeats in one small table; a process unseen for its TTL no longer counts. */
export class PostgresPeers implements DeliveryPeers {
  constructor(private readonly db: PgDatabase) {}

  async beat(id: string, ttlMs: number, now = Date.now()): Promise<number> {
    await this.db.query(
      'INSERT INTO delivery_processes (id, seen_at) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seen_at = GREATEST(delivery_processes.seen_at, EXCLUDED.seen_at)',
      [id, now],
    );
    // Long-dead rows go; recently silent ones are only not counted.
    await this.db.query('DELETE FROM delivery_processes WHERE seen_at < $1', [now - 100 * ttlMs]);
    const [row] = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM delivery_processes WHERE seen_at >= $1', [now - ttlMs]);
    return Math.max(1, row?.n ?? 1);
  }

  async leave(id: string): Promise<void> {
    await this.db.query('DELETE FROM delivery_processes WHERE id = $1', [id]);
  }
}
