import type Database from 'better-sqlite3';
import { settingsFromRows, type TrackingSettingChanges, type TrackingSettings, type TrackingSettingsStore } from '../../tracking/tracking-settings.js';

export class SqliteTrackingSettings implements TrackingSettingsStore {
  private readonly select;
  private readonly upsert;
  private readonly write;

  constructor(db: Database.Database) {
    this.select = db.prepare('SELECT name, value FROM tracking_settings WHERE account_id = ?');
    this.upsert = db.prepare(`INSERT INTO tracking_settings (account_id, name, value, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
    this.write = db.transaction((accountId: string, changes: [string, string][], now: number) => {
      for (const [name, value] of changes) this.upsert.run(accountId, name, value, now);
    });
  }

  async get(accountId: string): Promise<TrackingSettings> {
    return settingsFromRows(this.select.all(accountId) as { name: string; value: string }[]);
  }

  async update(accountId: string, changes: TrackingSettingChanges): Promise<TrackingSettings> {
    const rows = Object.entries(changes).filter(([, v]) => v !== undefined).map(([name, v]) => [name, JSON.stringify(v)] as [string, string]);
    this.write.immediate(accountId, rows, Date.now());
    return this.get(accountId);
  }
}
