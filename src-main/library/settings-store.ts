// App-wide settings in the library database (table `settings`, migration 0005). Each setting is read through
// its validator, so a row written by hand or by a newer build falls back to the default instead of reaching
// the engine malformed.
//
// Lifecycle: a SettingsStore borrows the database; whoever opened it closes it.
import type { Database } from 'better-sqlite3';
import { DEFAULT_PROVIDER_SETTING, validateProviderSetting, type ProviderSetting } from '../common/provider-setting.ts';

const PROVIDER_KEY = 'engine.provider';

export class SettingsStore {
  constructor(private readonly db: Database) {}

  providerSetting(): ProviderSetting {
    const row = this.db.prepare('SELECT value_json FROM settings WHERE key = ?').get(PROVIDER_KEY) as { value_json: string } | undefined;
    if (!row) return { ...DEFAULT_PROVIDER_SETTING };
    try {
      return validateProviderSetting(JSON.parse(row.value_json), 'settings');
    } catch {
      return { ...DEFAULT_PROVIDER_SETTING };
    }
  }

  setProviderSetting(setting: ProviderSetting): ProviderSetting {
    const checked = validateProviderSetting(setting, 'settings');
    this.db
      .prepare(
        `INSERT INTO settings (key, value_json, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`,
      )
      .run(PROVIDER_KEY, JSON.stringify(checked), new Date().toISOString());
    return checked;
  }
}
