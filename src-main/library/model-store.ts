// The models, roots and exclusions tables behind the library: plain SQL in, contract objects out.
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import type { LibraryItem, LibraryRoot, ModelKind } from '../common/contract.ts';

const MODEL_KINDS: readonly ModelKind[] = [
  'checkpoint',
  'controlnet',
  'lora',
  'vae',
  'embedding',
  'ctrlora-base',
  'ctrlora-lora',
  'cnxs',
  'annotator',
  'upscaler',
  'unsupported',
  'unknown',
];

/** What the scanner knows about one file, ready to be written. */
export interface ModelRecord {
  path: string;
  kind: ModelKind;
  layout: string;
  family: string;
  problem: string;
  sizeBytes: number;
  mtimeMs: number;
  sha256: string;
  shortHash: string;
  metadata: Record<string, string>;
  triggerWords: string[];
  details: Record<string, string | number>;
  detectorVersion: number;
}

/** A stored row: the record plus its id and dates. */
export interface StoredModel extends ModelRecord {
  id: number;
  name: string;
  addedAt: string;
  updatedAt: string;
}

interface ModelRow {
  id: number;
  path: string;
  name: string;
  kind: string;
  layout: string;
  family: string;
  problem: string;
  size_bytes: number;
  mtime_ms: number;
  sha256: string;
  short_hash: string;
  metadata_json: string;
  trigger_words_json: string;
  details_json: string;
  detector_version: number;
  added_at: string;
  updated_at: string;
}

interface RootRow {
  path: string;
  added_at: string;
  last_scan_at: string | null;
}

/** A model's display name: its file name without the extension. */
export function modelName(file: string): string {
  return path.parse(file).name;
}

/** Whether `file` is `root` itself or lies somewhere below it. */
export function isUnder(file: string, root: string): boolean {
  if (file === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return file.startsWith(prefix);
}

export class ModelStore {
  constructor(private readonly db: Database) {}

  // ---- models ------------------------------------------------------------------------------------------

  byPath(file: string): StoredModel | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE path = ?').get(file) as ModelRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  byId(id: number): StoredModel | undefined {
    const row = this.db.prepare('SELECT * FROM models WHERE id = ?').get(id) as ModelRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  all(): StoredModel[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY name COLLATE NOCASE, path').all() as ModelRow[]).map(fromRow);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM models').get() as { n: number }).n;
  }

  /** Inserts or replaces what is known about the file at `record.path`; keeps its id and added date. */
  upsert(record: ModelRecord, now: string): StoredModel {
    this.db
      .prepare(
        `INSERT INTO models (path, name, kind, layout, family, problem, size_bytes, mtime_ms, sha256, short_hash,
           metadata_json, trigger_words_json, details_json, detector_version, added_at, updated_at)
         VALUES (@path, @name, @kind, @layout, @family, @problem, @size_bytes, @mtime_ms, @sha256, @short_hash,
           @metadata_json, @trigger_words_json, @details_json, @detector_version, @now, @now)
         ON CONFLICT (path) DO UPDATE SET name = excluded.name, kind = excluded.kind, layout = excluded.layout,
           family = excluded.family, problem = excluded.problem, size_bytes = excluded.size_bytes,
           mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256, short_hash = excluded.short_hash,
           metadata_json = excluded.metadata_json, trigger_words_json = excluded.trigger_words_json,
           details_json = excluded.details_json, detector_version = excluded.detector_version,
           updated_at = excluded.updated_at`,
      )
      .run({
        path: record.path,
        name: modelName(record.path),
        kind: record.kind,
        layout: record.layout,
        family: record.family,
        problem: record.problem,
        size_bytes: record.sizeBytes,
        mtime_ms: record.mtimeMs,
        sha256: record.sha256,
        short_hash: record.shortHash,
        metadata_json: JSON.stringify(record.metadata),
        trigger_words_json: JSON.stringify(record.triggerWords),
        details_json: JSON.stringify(record.details),
        detector_version: record.detectorVersion,
        now,
      });
    return this.byPath(record.path)!;
  }

  removeById(id: number): boolean {
    return this.db.prepare('DELETE FROM models WHERE id = ?').run(id).changes > 0;
  }

  /** Deletes these rows (files that vanished); returns how many went. */
  removeRows(rows: readonly StoredModel[]): number {
    const del = this.db.prepare('DELETE FROM models WHERE id = ?');
    return this.db.transaction(() => rows.reduce((n, r) => n + del.run(r.id).changes, 0))();
  }

  /**
   * Gives the row a new path (its file is now reached only by that path), keeping its id, so history and
   * settings that name the id still find it. A row already at that path (the same file twice) is dropped.
   */
  moveTo(id: number, file: string): StoredModel {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM models WHERE path = ? AND id != ?').run(file, id);
      this.db.prepare('UPDATE models SET path = ?, name = ? WHERE id = ?').run(file, modelName(file), id);
    })();
    return this.byId(id)!;
  }

  // ---- roots and exclusions ----------------------------------------------------------------------------

  roots(): LibraryRoot[] {
    return (this.db.prepare('SELECT path, added_at, last_scan_at FROM library_roots ORDER BY path').all() as RootRow[]).map(
      (r) => ({ path: r.path, addedAt: r.added_at, lastScanAt: r.last_scan_at }),
    );
  }

  addRoot(root: string, now: string): void {
    this.db.prepare('INSERT INTO library_roots (path, added_at) VALUES (?, ?) ON CONFLICT (path) DO NOTHING').run(root, now);
  }

  removeRoot(root: string): boolean {
    return this.db.prepare('DELETE FROM library_roots WHERE path = ?').run(root).changes > 0;
  }

  markScanned(root: string, now: string): void {
    this.db.prepare('UPDATE library_roots SET last_scan_at = ? WHERE path = ?').run(now, root);
  }

  exclude(file: string, now: string): void {
    this.db.prepare('INSERT INTO library_exclusions (path, excluded_at) VALUES (?, ?) ON CONFLICT (path) DO NOTHING').run(file, now);
  }

  /** Clears exclusions of `root` itself and of everything below it (the user added it again). */
  unexclude(root: string): void {
    const paths = this.db.prepare('SELECT path FROM library_exclusions').pluck().all() as string[];
    const del = this.db.prepare('DELETE FROM library_exclusions WHERE path = ?');
    this.db.transaction(() => paths.filter((p) => isUnder(p, root)).forEach((p) => del.run(p)))();
  }

  exclusions(): Set<string> {
    return new Set(this.db.prepare('SELECT path FROM library_exclusions').pluck().all() as string[]);
  }
}

export function toLibraryItem(m: StoredModel): LibraryItem {
  return {
    id: m.id,
    path: m.path,
    name: m.name,
    kind: m.kind,
    layout: m.layout,
    family: m.family,
    problem: m.problem,
    sizeBytes: m.sizeBytes,
    sha256: m.sha256,
    shortHash: m.shortHash,
    metadata: m.metadata,
    triggerWords: m.triggerWords,
    details: m.details,
    addedAt: m.addedAt,
  };
}

function fromRow(row: ModelRow): StoredModel {
  return {
    id: row.id,
    path: row.path,
    name: row.name,
    kind: (MODEL_KINDS as readonly string[]).includes(row.kind) ? (row.kind as ModelKind) : 'unknown',
    layout: row.layout,
    family: row.family,
    problem: row.problem,
    sizeBytes: row.size_bytes,
    mtimeMs: row.mtime_ms,
    sha256: row.sha256,
    shortHash: row.short_hash,
    metadata: JSON.parse(row.metadata_json) as Record<string, string>,
    triggerWords: JSON.parse(row.trigger_words_json) as string[],
    details: JSON.parse(row.details_json) as Record<string, string | number>,
    detectorVersion: row.detector_version,
    addedAt: row.added_at,
    updatedAt: row.updated_at,
  };
}
