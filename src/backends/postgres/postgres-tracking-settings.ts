import { settingsFromRows, type TrackingSettingChanges, type TrackingSettings, type TrackingSettingsStore } from '../../tracking/tracking-settings.js';
import type { PgDatabase } from './pg-database.js';

export class PostgresTrackingSettings implements TrackingSettingsStore {
  constructor(private readonly db: PgDatabase) {}

  async get(accountId: string): Promise<TrackingSettings> {
    return settingsFromRows(await this.db.query<{ name: string; value: string }>('SELECT name, value FROM tracking_settings WHERE account_id = $1', [accountId]));
  }

  async update(accountId: string, changes: TrackingSettingChanges): Promise<TrackingSettings> {
    const rows = Object.entries(changes).filter(([, v]) => v !== undefined);
    if (rows.length > 0) {
      // One statement: the values of one PATCH land together or not at all.
      await this.db.query(
        `INSERT INTO tracking_settings (account_id, name, value, updated_at)
         SELECT $1, n, v, $4 FROM unnest($2::text[], $3::text[]) AS t(n, v)
         ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [accountId, rows.map(([n]) => n), rows.map(([, v]) => JSON.stringify(v)), Date.now()],
      );
    }
    return this.get(accountId);
  }
}
