import type Database from 'better-sqlite3';
import type { InstanceSecrets } from '../../ops/signing-keys.js';

export class SqliteSecrets implements InstanceSecrets {
  private readonly insert;
  private readonly select;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT OR IGNORE INTO instance_secrets (name, value, created_at) VALUES (?, ?, ?)');
    this.select = db.prepare('SELECT value FROM instance_secrets WHERE name = ?');
  }

  async getOrCreate(name: string, make: () => string): Promise<string> {
    const found = this.select.get(name) as { value: string } | undefined;
    if (found) return found.value;
    this.insert.run(name, make(), Date.now());
    return (this.select.get(name) as { value: string }).value;
  }
}
