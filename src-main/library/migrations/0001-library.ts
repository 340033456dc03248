// Schema version 1: the folders and files the user added, the models found in them, and main's job records.
// Enumerations (kind, state) are checked in TypeScript, not with CHECK constraints, so that a later version can
// add a kind without rebuilding the table (SQLite cannot alter a CHECK constraint in place).
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 1,
  name: 'library',
  up(db) {
    db.exec(`
      CREATE TABLE library_roots (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL,
        last_scan_at TEXT
      ) STRICT;

      -- Files the user removed from the library although they lie inside a folder root, so that a rescan
      -- does not bring them back. Adding the file again clears its row.
      CREATE TABLE library_exclusions (
        path TEXT PRIMARY KEY,
        excluded_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        layout TEXT NOT NULL DEFAULT '',
        family TEXT NOT NULL DEFAULT '',
        problem TEXT NOT NULL DEFAULT '',
        size_bytes INTEGER NOT NULL,
        -- fs.stat mtimeMs has a fractional part; REAL keeps it exactly, so 'unchanged' is an exact comparison
        mtime_ms REAL NOT NULL,
        sha256 TEXT NOT NULL DEFAULT '',
        short_hash TEXT NOT NULL DEFAULT '',
        metadata_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata_json)),
        trigger_words_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(trigger_words_json)),
        details_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details_json)),
        -- which detector version classified the row: a newer app re-detects (without re-hashing) older rows
        detector_version INTEGER NOT NULL DEFAULT 0,
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX models_kind ON models (kind);
      CREATE INDEX models_sha256 ON models (sha256);

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        title TEXT NOT NULL,
        progress_json TEXT NOT NULL CHECK (json_valid(progress_json)),
        error_json TEXT CHECK (error_json IS NULL OR json_valid(error_json)),
        created_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX jobs_created_at ON jobs (created_at);
      CREATE INDEX jobs_state ON jobs (state);
    `);
  },
};
