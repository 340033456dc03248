// The generation history (table `generations`, migration 0002): one row per picture, written by main's job
// queue after the PNG is on disk. Search by words of the prompt (each word must appear, case-insensitive, in the
// prompt or the negative prompt), filter by checkpoint, page newest first.
import type { Database } from 'better-sqlite3';
import type { ControlRecord, GenerationSettings, HistoryEntry } from '../common/generation-contract.ts';

/** A history row as main keeps it: the contract's entry (less its URL) and where the picture lies. */
export interface HistoryRecord extends Omit<HistoryEntry, 'imageUrl'> {
  /** Relative to the data folder ('images/...png'). */
  imagePath: string;
}

export interface NewHistoryRecord {
  jobId: string;
  createdAt: string;
  imagePath: string;
  settings: GenerationSettings;
  parameters: string;
  status?: string;
}

export interface HistoryQuery {
  query?: string;
  modelId?: number;
  limit?: number;
  offset?: number;
}

interface Row {
  id: number;
  job_id: string;
  created_at: string;
  status: string;
  image_path: string;
  settings_json: string;
  controls_json: string;
  loras_json: string;
  parameters: string;
}

/** LIKE pattern for one word, with the wildcards in it taken literally. */
const likeWord = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export class HistoryStore {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly deleteStmt;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO generations (job_id, created_at, status, image_path, prompt, negative, width, height, steps, cfg,
         seed, sampler, clip_skip, model_id, model_hash, model_name, model_path, denoising_strength, inpaint,
         batch_size, batch_count, batch_index, controls_json, loras_json, settings_json, parameters)
       VALUES (@job_id, @created_at, @status, @image_path, @prompt, @negative, @width, @height, @steps, @cfg,
         @seed, @sampler, @clip_skip, @model_id, @model_hash, @model_name, @model_path, @denoising_strength, @inpaint,
         @batch_size, @batch_count, @batch_index, @controls_json, @loras_json, @settings_json, @parameters)`,
    );
    this.getStmt = db.prepare('SELECT * FROM generations WHERE id = ?');
    this.deleteStmt = db.prepare('DELETE FROM generations WHERE id = ?');
  }

  /** Records one picture; returns its id. A model id the library no longer has is stored as NULL. */
  insert(r: NewHistoryRecord): number {
    const s = r.settings;
    const modelId = s.checkpoint.id !== null && this.modelExists(s.checkpoint.id) ? s.checkpoint.id : null;
    const info = this.insertStmt.run({
      job_id: r.jobId,
      created_at: r.createdAt,
      status: r.status ?? 'done',
      image_path: r.imagePath,
      prompt: s.prompt,
      negative: s.negative,
      width: s.width,
      height: s.height,
      steps: s.steps,
      cfg: s.cfg,
      seed: s.seed,
      sampler: s.sampler,
      clip_skip: s.clipSkip,
      model_id: modelId,
      model_hash: s.checkpoint.hash,
      model_name: s.checkpoint.name,
      model_path: s.checkpoint.path,
      denoising_strength: s.denoisingStrength,
      inpaint: s.inpaint ? 1 : 0,
      batch_size: s.batchSize,
      batch_count: s.batchCount,
      batch_index: s.batchIndex,
      controls_json: JSON.stringify(s.controls),
      loras_json: JSON.stringify(s.loras),
      settings_json: JSON.stringify(s),
      parameters: r.parameters,
    });
    return Number(info.lastInsertRowid);
  }

  /** Several pictures in one transaction: all are recorded or none. */
  insertAll(records: readonly NewHistoryRecord[]): number[] {
    return this.db.transaction(() => records.map((r) => this.insert(r)))();
  }

  get(id: number): HistoryRecord | null {
    const row = this.getStmt.get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  list(q: HistoryQuery = {}): { items: HistoryRecord[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const word of (q.query ?? '').split(/\s+/).filter(Boolean).slice(0, 16)) {
      where.push(`(prompt LIKE ? ESCAPE '\\' OR negative LIKE ? ESCAPE '\\')`);
      params.push(likeWord(word), likeWord(word));
    }
    if (q.modelId !== undefined) {
      where.push('model_id = ?');
      params.push(q.modelId);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const limit = Math.max(1, Math.min(q.limit ?? 50, 500));
    const offset = Math.max(0, q.offset ?? 0);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM generations ${clause}`).get(...params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM generations ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as Row[];
    return { items: rows.map(fromRow), total };
  }

  /** Deletes a row; returns it (so its picture can be removed too), or null when there was none. */
  delete(id: number): HistoryRecord | null {
    const found = this.get(id);
    if (found) this.deleteStmt.run(id);
    return found;
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM generations').get() as { n: number }).n;
  }

  private modelExists(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM models WHERE id = ?').get(id) !== undefined;
  }
}

function fromRow(row: Row): HistoryRecord {
  const settings = JSON.parse(row.settings_json) as GenerationSettings;
  // The columns are the truth where they can change after the fact (a removed model's id became NULL).
  const modelId = (row as unknown as { model_id: number | null }).model_id;
  settings.checkpoint = { ...settings.checkpoint, id: modelId };
  settings.controls = JSON.parse(row.controls_json) as ControlRecord[];
  settings.loras = JSON.parse(row.loras_json) as GenerationSettings['loras'];
  return {
    id: row.id,
    jobId: row.job_id,
    createdAt: row.created_at,
    status: row.status,
    settings,
    parameters: row.parameters,
    imagePath: row.image_path,
  };
}
