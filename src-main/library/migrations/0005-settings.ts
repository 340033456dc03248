// Schema version 5: settings. The artist's app-wide choices (the execution provider and GPU, provider-setting.ts),
// one row per setting: its key and its value as JSON, so a new setting needs no migration.
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 5,
  name: 'settings',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL CHECK (json_valid(value_json)),
        updated_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
