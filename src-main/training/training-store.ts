// Training records in the library database (tables of migration 0004): datasets and their items, runs with
// their progress and loss curve, and calibrations. Plain rows in, contract objects out; the service decides.

import type { Database } from 'better-sqlite3';
import type {
  CalibrationReport,
  ConditionSource,
  DatasetItem,
  DatasetProblem,
  DatasetSummary,
  TrainingRunState,
  TrainingSettings,
} from '../common/training-contract.ts';

export interface StoredDataset {
  id: number;
  name: string;
  path: string;
  condition: ConditionSource;
  problems: DatasetProblem[];
  createdAt: string;
}

export interface NewItem {
  file: string;
  conditionFile: string | null;
  width: number;
  height: number;
  caption: string;
}

export interface StoredItem extends NewItem {
  id: number;
}

export interface StoredRun {
  id: number;
  datasetId: number | null;
  state: TrainingRunState;
  settings: TrainingSettings;
  jobId: string | null;
  step: number;
  total: number;
  losses: number[];
  checkpointStep: number;
  samples: number[];
  resultModelId: number | null;
  resultPath: string | null;
  error: { kind: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

interface RunRow {
  id: number;
  dataset_id: number | null;
  state: string;
  settings_json: string;
  job_id: string | null;
  step: number;
  total: number;
  losses: Buffer;
  checkpoint_step: number;
  samples_json: string;
  result_model_id: number | null;
  result_path: string | null;
  error_json: string | null;
  created_at: string;
  updated_at: string;
}

const toLosses = (b: Buffer): number[] => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
const fromLosses = (l: readonly number[]): Buffer => Buffer.from(Float32Array.from(l).buffer);

function runOf(r: RunRow): StoredRun {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    state: r.state as TrainingRunState,
    settings: JSON.parse(r.settings_json) as TrainingSettings,
    jobId: r.job_id,
    step: r.step,
    total: r.total,
    losses: toLosses(r.losses),
    checkpointStep: r.checkpoint_step,
    samples: JSON.parse(r.samples_json) as number[],
    resultModelId: r.result_model_id,
    resultPath: r.result_path,
    error: r.error_json ? (JSON.parse(r.error_json) as StoredRun['error']) : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class TrainingStore {
  constructor(private readonly db: Database) {}

  // ---- datasets -----------------------------------------------------------------------------------------

  insertDataset(d: Omit<StoredDataset, 'id'>, items: readonly NewItem[]): number {
    return this.db.transaction(() => {
      const id = Number(
        this.db
          .prepare('INSERT INTO training_datasets (name, path, condition, problems_json, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(d.name, d.path, d.condition, JSON.stringify(d.problems), d.createdAt).lastInsertRowid,
      );
      const insert = this.db.prepare('INSERT INTO training_items (dataset_id, position, file, condition_file, width, height, caption) VALUES (?, ?, ?, ?, ?, ?, ?)');
      items.forEach((it, i) => insert.run(id, i, it.file, it.conditionFile, it.width, it.height, it.caption));
      return id;
    })();
  }

  dataset(id: number): StoredDataset | null {
    const r = this.db.prepare('SELECT * FROM training_datasets WHERE id = ?').get(id) as
      | { id: number; name: string; path: string; condition: string; problems_json: string; created_at: string }
      | undefined;
    return r ? { id: r.id, name: r.name, path: r.path, condition: r.condition as ConditionSource, problems: JSON.parse(r.problems_json), createdAt: r.created_at } : null;
  }

  datasets(): DatasetSummary[] {
    const rows = this.db
      .prepare(
        `SELECT d.*, (SELECT COUNT(*) FROM training_items i WHERE i.dataset_id = d.id) AS item_count
         FROM training_datasets d ORDER BY d.id DESC`,
      )
      .all() as { id: number; name: string; path: string; condition: string; problems_json: string; created_at: string; item_count: number }[];
    return rows.map((r) => ({ id: r.id, name: r.name, path: r.path, condition: r.condition as ConditionSource, itemCount: r.item_count, problemCount: (JSON.parse(r.problems_json) as unknown[]).length, createdAt: r.created_at }));
  }

  items(datasetId: number): StoredItem[] {
    const rows = this.db.prepare('SELECT * FROM training_items WHERE dataset_id = ? ORDER BY position').all(datasetId) as {
      id: number;
      file: string;
      condition_file: string | null;
      width: number;
      height: number;
      caption: string;
    }[];
    return rows.map((r) => ({ id: r.id, file: r.file, conditionFile: r.condition_file, width: r.width, height: r.height, caption: r.caption }));
  }

  setProblems(datasetId: number, problems: readonly DatasetProblem[]): void {
    this.db.prepare('UPDATE training_datasets SET problems_json = ? WHERE id = ?').run(JSON.stringify(problems), datasetId);
  }

  setConditionFile(itemId: number, conditionFile: string): void {
    this.db.prepare('UPDATE training_items SET condition_file = ? WHERE id = ?').run(conditionFile, itemId);
  }

  updateCaption(datasetId: number, itemId: number, caption: string): boolean {
    return this.db.prepare('UPDATE training_items SET caption = ? WHERE id = ? AND dataset_id = ?').run(caption, itemId, datasetId).changes === 1;
  }

  // ---- runs ---------------------------------------------------------------------------------------------

  insertRun(datasetId: number, settings: TrainingSettings, total: number, now: string): number {
    return Number(
      this.db
        .prepare('INSERT INTO training_runs (dataset_id, recipe, state, settings_json, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(datasetId, settings.recipe, 'queued', JSON.stringify(settings), total, now, now).lastInsertRowid,
    );
  }

  run(id: number): StoredRun | null {
    const r = this.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as RunRow | undefined;
    return r ? runOf(r) : null;
  }

  runs(): StoredRun[] {
    return (this.db.prepare('SELECT * FROM training_runs ORDER BY id DESC').all() as RunRow[]).map(runOf);
  }

  /** Writes the fields given. */
  updateRun(id: number, patch: Partial<Omit<StoredRun, 'id' | 'datasetId' | 'settings' | 'createdAt'>>, now: string): void {
    const cols: Record<string, unknown> = {};
    if (patch.state !== undefined) cols.state = patch.state;
    if (patch.jobId !== undefined) cols.job_id = patch.jobId;
    if (patch.step !== undefined) cols.step = patch.step;
    if (patch.total !== undefined) cols.total = patch.total;
    if (patch.losses !== undefined) cols.losses = fromLosses(patch.losses);
    if (patch.checkpointStep !== undefined) cols.checkpoint_step = patch.checkpointStep;
    if (patch.samples !== undefined) cols.samples_json = JSON.stringify(patch.samples);
    if (patch.resultModelId !== undefined) cols.result_model_id = patch.resultModelId;
    if (patch.resultPath !== undefined) cols.result_path = patch.resultPath;
    if (patch.error !== undefined) cols.error_json = patch.error ? JSON.stringify(patch.error) : null;
    cols.updated_at = now;
    const names = Object.keys(cols);
    this.db.prepare(`UPDATE training_runs SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = @id`).run({ ...cols, id });
  }

  /** Crash recovery: runs left queued or running by a previous process become 'interrupted' (resumable). */
  markUnfinishedInterrupted(now: string): number {
    const error = JSON.stringify({ kind: 'interrupted', message: 'Hintbrush stopped while this run was training; resume it to continue from its last checkpoint.' });
    return this.db.prepare("UPDATE training_runs SET state = 'interrupted', job_id = NULL, error_json = ?, updated_at = ? WHERE state IN ('queued', 'running')").run(error, now).changes;
  }

  // ---- calibrations -------------------------------------------------------------------------------------

  calibration(key: string): CalibrationReport | null {
    const r = this.db.prepare('SELECT report_json FROM training_calibrations WHERE key = ?').get(key) as { report_json: string } | undefined;
    return r ? (JSON.parse(r.report_json) as CalibrationReport) : null;
  }

  saveCalibration(key: string, report: CalibrationReport, now: string): void {
    this.db.prepare('INSERT INTO training_calibrations (key, report_json, measured_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET report_json = excluded.report_json, measured_at = excluded.measured_at').run(key, JSON.stringify(report), now);
  }
}

export type { DatasetItem };
