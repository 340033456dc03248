// Schema version 4: training. Datasets imported from a folder (its items with their captions, which the artist
// edits here, never in the folder; the files left out and why), training runs (settings, progress, the loss
// curve, samples, the result model) and calibrations (time per step and peak memory measured on this machine
// for one set of training settings, so a time budget becomes a step count without measuring again).
// Items go with their dataset (ON DELETE CASCADE); a run keeps its record when its dataset is deleted.
import type { Migration } from './migration.ts';

export const migration: Migration = {
  version: 4,
  name: 'training',
  up(db) {
    db.exec(`
      CREATE TABLE training_datasets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        -- 'none' | 'pairs' | 'canny' | 'depth' | 'pose'
        condition TEXT NOT NULL,
        problems_json TEXT NOT NULL CHECK (json_valid(problems_json)),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE training_items (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER NOT NULL REFERENCES training_datasets (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        -- relative to the dataset folder
        file TEXT NOT NULL,
        -- relative to the dataset folder, or 'generated:<name>' in the dataset's data folder
        condition_file TEXT,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        caption TEXT NOT NULL
      ) STRICT;
      CREATE INDEX training_items_dataset ON training_items (dataset_id, position);

      CREATE TABLE training_runs (
        id INTEGER PRIMARY KEY,
        dataset_id INTEGER REFERENCES training_datasets (id) ON DELETE SET NULL,
        recipe TEXT NOT NULL,
        -- 'queued' | 'running' | 'paused' | 'interrupted' | 'done' | 'failed' | 'cancelled'
        state TEXT NOT NULL,
        settings_json TEXT NOT NULL CHECK (json_valid(settings_json)),
        job_id TEXT,
        step INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL,
        -- float32 little-endian, one per step
        losses BLOB NOT NULL DEFAULT x'',
        checkpoint_step INTEGER NOT NULL DEFAULT 0,
        -- sample steps; the pictures are files in the run's folder
        samples_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(samples_json)),
        result_model_id INTEGER,
        result_path TEXT,
        error_json TEXT CHECK (error_json IS NULL OR json_valid(error_json)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX training_runs_state ON training_runs (state);

      CREATE TABLE training_calibrations (
        -- recipe | checkpoint path | base path | resolution | rank | text encoder | batch | provider
        key TEXT PRIMARY KEY,
        report_json TEXT NOT NULL CHECK (json_valid(report_json)),
        measured_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
