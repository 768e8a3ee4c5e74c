import type { InstanceSecrets } from '../../ops/signing-keys.js';
import type { PgDatabase } from './pg-database.js';

export class PostgresSecrets implements InstanceSecrets {
  constructor(private readonly db: PgDatabase) {}

  async getOrCreate(name: string, make: () => string): Promise<string> {
    // Two processes starting together: one insert wins, both read the winner's value.
    await this.db.query('INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, make(), Date.now()]);
    const [row] = await this.db.query<{ value: string }>('SELECT value FROM instance_secrets WHERE name = $1', [name]);
    return row!.value;
  }
}
