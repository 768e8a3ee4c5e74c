import type { HeraldConfig } from '../config/settings.js';
import { HeraldError } from '../errors.js';

/**
 * `herald migrate`: brings the configured store's schema up to date and says what it applied.
 * Safe to run while Herald processes run, and from several hosts at once: PostgreSQL migrations
 * are applied under an advisory lock, SQLite ones in the transaction that records them. Servers
 * also migrate at start; running it first keeps a rolling deployment's start-up short.
 */
export async function migrateCommand(config: HeraldConfig): Promise<number> {
  if (config.backend === 'postgres') {
    if (!config.databaseUrl) throw new HeraldError('HERALD_ERR_CONFIG', { message: 'backend is postgres but databaseUrl is not set' });
    const { PgDatabase } = await import('../backends/postgres/pg-database.js');
    const { createPool, migratePostgres } = await import('../backends/postgres/postgres-backend.js');
    const { POSTGRES_MIGRATIONS } = await import('../backends/postgres/migrations.js');
    const pool = createPool({ databaseUrl: config.databaseUrl, databaseSchema: config.databaseSchema });
    try {
      const applied = await migratePostgres(new PgDatabase(pool), config.databaseSchema);
      report(applied, POSTGRES_MIGRATIONS, `PostgreSQL${config.databaseSchema ? ` schema ${config.databaseSchema}` : ''}`);
    } finally {
      await pool.end();
    }
    return 0;
  }
  // SQLite migrates when it opens; the count before and after says what this run applied.
  const { openBackend } = await import('../backends/backend.js');
  const { SQLITE_MIGRATIONS } = await import('../backends/sqlite/migrations.js');
  const backend = await openBackend(config);
  await backend.close();
  console.log(`SQLite in ${config.dataDir}: schema at migration ${SQLITE_MIGRATIONS.at(-1)!.id} (${SQLITE_MIGRATIONS.at(-1)!.name}).`);
  return 0;
}

function report(applied: number[], all: readonly { id: number; name: string }[], where: string): void {
  if (applied.length === 0) {
    console.log(`${where}: up to date at migration ${all.at(-1)!.id}.`);
    return;
  }
  for (const id of applied) console.log(`applied ${id}: ${all.find((m) => m.id === id)!.name}`);
  console.log(`${where}: now at migration ${all.at(-1)!.id}.`);
}
