// Where main's job queue keeps its job records, so that the job list survives a restart and a crash leaves an
// honest trace: on start the queue calls markRunningAsFailed() for whatever the previous process left unfinished.
import type { Database } from 'better-sqlite3';
import type { ErrorInfo, JobInfo, JobKind, JobProgress, JobState } from '../common/contract.ts';
import { isErrorKind } from '../common/errors.ts';

const JOB_KINDS: readonly JobKind[] = ['scan', 'generate', 'train', 'probe', 'annotate'];
const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'failed', 'cancelled'];

interface JobRow {
  id: string;
  kind: string;
  state: string;
  title: string;
  progress_json: string;
  error_json: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface ListJobsOptions {
  /** Newest first; at most this many (default 200). */
  limit?: number;
}

export class JobStore {
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly failUnfinishedStmt;
  private readonly pruneStmt;

  constructor(private readonly db: Database) {
    this.insertStmt = db.prepare(
      `INSERT INTO jobs (id, kind, state, title, progress_json, error_json, created_at, finished_at)
       VALUES (@id, @kind, @state, @title, @progress_json, @error_json, @created_at, @finished_at)`,
    );
    this.updateStmt = db.prepare(
      `UPDATE jobs SET state = @state, title = @title, progress_json = @progress_json, error_json = @error_json,
       finished_at = @finished_at WHERE id = @id`,
    );
    this.getStmt = db.prepare('SELECT * FROM jobs WHERE id = ?');
    // rowid breaks ties between jobs created within the same millisecond
    this.listStmt = db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?');
    this.failUnfinishedStmt = db.prepare(
      `UPDATE jobs SET state = 'failed', error_json = @error_json, finished_at = @finished_at
       WHERE state IN ('queued', 'running')`,
    );
    this.pruneStmt = db.prepare(
      `DELETE FROM jobs WHERE state NOT IN ('queued', 'running') AND rowid NOT IN
       (SELECT rowid FROM jobs ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
    );
  }

  /** Records a new job; throws if a job with the same id exists. */
  insert(job: JobInfo): void {
    this.insertStmt.run(toRow(job));
  }

  /** Writes the job's state, title, progress, error and finish time; returns false if no such job. */
  update(job: JobInfo): boolean {
    return this.updateStmt.run(toRow(job)).changes > 0;
  }

  get(id: string): JobInfo | null {
    const row = this.getStmt.get(id) as JobRow | undefined;
    return row ? fromRow(row) : null;
  }

  list(options: ListJobsOptions = {}): JobInfo[] {
    const limit = Math.max(1, Math.min(options.limit ?? 200, 10_000));
    return (this.listStmt.all(limit) as JobRow[]).map(fromRow);
  }

  /**
   * Crash recovery: every job the previous process left queued or running can never finish (its work lived in
   * that process), so it becomes 'failed' with `{ kind: 'interrupted', message: reason }`. Returns how many.
   */
  markRunningAsFailed(reason: string, now: Date = new Date()): number {
    const error: ErrorInfo = { kind: 'interrupted', message: reason };
    return this.failUnfinishedStmt.run({ error_json: JSON.stringify(error), finished_at: now.toISOString() })
      .changes;
  }

  /** Deletes finished jobs beyond the newest `keep` records; returns how many went. */
  prune(keep: number): number {
    return this.pruneStmt.run(Math.max(0, Math.floor(keep))).changes;
  }
}

function toRow(job: JobInfo): JobRow {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    title: job.title,
    progress_json: JSON.stringify(job.progress),
    error_json: job.error ? JSON.stringify(job.error) : null,
    created_at: job.createdAt,
    finished_at: job.finishedAt,
  };
}

function fromRow(row: JobRow): JobInfo {
  return {
    id: row.id,
    // a row written by a newer build may carry a kind this one does not know: show it as a probe, never crash
    kind: (JOB_KINDS as readonly string[]).includes(row.kind) ? (row.kind as JobKind) : 'probe',
    state: (JOB_STATES as readonly string[]).includes(row.state) ? (row.state as JobState) : 'failed',
    title: row.title,
    progress: parseProgress(row.progress_json),
    error: row.error_json ? parseError(row.error_json) : null,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function parseProgress(json: string): JobProgress {
  const p = JSON.parse(json) as Partial<JobProgress>;
  return {
    step: typeof p.step === 'number' ? p.step : 0,
    total: typeof p.total === 'number' ? p.total : 0,
    message: typeof p.message === 'string' ? p.message : '',
  };
}

function parseError(json: string): ErrorInfo {
  const e = JSON.parse(json) as Partial<ErrorInfo>;
  return {
    kind: isErrorKind(e.kind) ? e.kind : 'internal',
    message: typeof e.message === 'string' ? e.message : '',
  };
}
