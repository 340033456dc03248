// Schema version 2: the generation history. One row per picture made, written once the PNG is on disk, with
// every setting as its own column (searchable, filterable) and the whole record as JSON (exact round trip).
// Models are kept by name, hash and path as well as by library id: the history outlives a model's removal
// from the library (its id is then set to NULL).
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 2,
  name: 'history',
  up(db) {
    db.exec(`
      CREATE TABLE generations (
        id INTEGER PRIMARY KEY,
        job_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- 'done': the picture is on disk at image_path
        status TEXT NOT NULL DEFAULT 'done',
        -- relative to the data folder, e.g. images/2026-11/20261122-120000-1a2b3c4d-0.png
        image_path TEXT NOT NULL,
        prompt TEXT NOT NULL,
        negative TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        steps INTEGER NOT NULL,
        cfg REAL NOT NULL,
        seed INTEGER NOT NULL,
        sampler TEXT NOT NULL,
        clip_skip INTEGER NOT NULL,
        model_id INTEGER REFERENCES models (id) ON DELETE SET NULL,
        model_hash TEXT NOT NULL,
        model_name TEXT NOT NULL,
        model_path TEXT NOT NULL,
        denoising_strength REAL,
        inpaint INTEGER NOT NULL DEFAULT 0,
        batch_size INTEGER NOT NULL,
        batch_count INTEGER NOT NULL,
        batch_index INTEGER NOT NULL,
        -- [{kind, model: {id, name, hash, path}, base, weight, start, end, resizeMode}]
        controls_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(controls_json)),
        -- [{model: {id, name, hash, path}, weight}]
        loras_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(loras_json)),
        settings_json TEXT NOT NULL CHECK (json_valid(settings_json)),
        -- the A1111 parameters text written into the PNG
        parameters TEXT NOT NULL
      ) STRICT;
      CREATE INDEX generations_created_at ON generations (created_at);
      CREATE INDEX generations_model_id ON generations (model_id);
      CREATE INDEX generations_job_id ON generations (job_id);
    `);
  },
};
