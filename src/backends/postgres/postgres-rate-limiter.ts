import type { SharedRateLimiter } from '../../delivery/cluster-limits.js';
import type { PgDatabase } from './pg-database.js';

/**
 * The shared token bucket in one PostgreSQL row per destination, refilled and taken from in one
 * atomic statement (`INSERT … ON CONFLICT DO UPDATE` locks the row), so concurrent processes never
 * take the same token. One round trip per claim round of a rate-limited destination.
 */
export class PostgresRateLimiter implements SharedRateLimiter {
  constructor(private readonly db: PgDatabase) {}

  async take(destination: string, wanted: number, ratePerSecond: number, now = Date.now()): Promise<number> {
    if (wanted <= 0 || ratePerSecond <= 0) return ratePerSecond <= 0 ? wanted : 0;
    const burst = Math.max(1, ratePerSecond);
    const rows = await this.db.query<{ granted: number }>(
      `INSERT INTO destination_tokens AS t (destination, tokens, refilled_at, granted)
         VALUES ($1, $2::float8 - LEAST(floor($2::float8), $4::float8), $5, LEAST(floor($2::float8), $4::float8))
       ON CONFLICT (destination) DO UPDATE SET
         tokens = LEAST($2::float8, t.tokens + GREATEST(0, $5 - t.refilled_at) * $3::float8 / 1000.0)
                  - LEAST(floor(LEAST($2::float8, t.tokens + GREATEST(0, $5 - t.refilled_at) * $3::float8 / 1000.0)), $4::float8),
         granted = LEAST(floor(LEAST($2::float8, t.tokens + GREATEST(0, $5 - t.refilled_at) * $3::float8 / 1000.0)), $4::float8),
         refilled_at = GREATEST(t.refilled_at, $5)
       RETURNING granted`,
      [destination, burst, ratePerSecond, wanted, now],
    );
    return Math.max(0, Math.floor(Number(rows[0]?.granted ?? 0)));
  }
}
