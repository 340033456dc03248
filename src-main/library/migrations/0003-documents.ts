// Schema version 3: the studio's documents, autosaved. One row per document with its record as JSON (layers,
// hint bindings, settings) and the revision of the last save; one row per layer raster with its PNG. Saves
// replace rows in one transaction and never lower a revision (last write wins by revision number).
// Rasters go with their document (ON DELETE CASCADE); nothing here refers to models or history rows by key,
// so removing a model or a history entry never touches a document.
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 3,
  name: 'documents',
  up(db) {
    db.exec(`
      CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        record_json TEXT NOT NULL CHECK (json_valid(record_json)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        -- the newest opened_at is the document reopened at start
        opened_at TEXT
      ) STRICT;
      CREATE INDEX documents_opened_at ON documents (opened_at);

      CREATE TABLE document_rasters (
        document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
        raster_id TEXT NOT NULL,
        png BLOB NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        -- the document revision whose save wrote these pixels
        revision INTEGER NOT NULL,
        PRIMARY KEY (document_id, raster_id)
      ) STRICT;
    `);
  },
};
