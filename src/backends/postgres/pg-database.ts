import type { Pool, PoolClient, QueryResultRow } from 'pg';

/** What a PostgreSQL store runs its statements through: the pool, or one transaction's client. */
export interface PgQueryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * The connection pool every PostgreSQL store shares, with the two ways to use it: one statement
 * (`query`), or several in one transaction (`transaction`), which commits when `work` resolves and
 * rolls back when it throws.
 */
export class PgDatabase {
  constructor(readonly pool: Pool) {}

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, params as unknown[])).rows;
  }

  async transaction<T>(work: (client: PgQueryable) => Promise<T>): Promise<T> {
    const client: PoolClient = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client as unknown as PgQueryable);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}
