// Pure helpers for the job queue as the renderer sees it (jobs.test.ts).
import type { JobInfo } from '../../../src-main/common/contract.ts';

export function isActiveJob(job: JobInfo): boolean {
  return job.state === 'queued' || job.state === 'running';
}

/** Running before queued, then newest first; finished jobs by finish time, newest first. */
export function newestFirst(a: JobInfo, b: JobInfo): number {
  const rank = (j: JobInfo) => (j.state === 'running' ? 0 : j.state === 'queued' ? 1 : 2);
  const byRank = rank(a) - rank(b);
  if (byRank !== 0) return byRank;
  const time = (j: JobInfo) => Date.parse(j.finishedAt ?? j.createdAt) || 0;
  return time(b) - time(a);
}

/**
 * The newer of two reports of the same job. Events and `jobs.list` answers can cross on the wire; a finished
 * job never goes back to running, and progress never moves backwards within the same state.
 */
export function mergeJob(previous: JobInfo | undefined, next: JobInfo): JobInfo {
  if (!previous) return next;
  if (!isActiveJob(previous) && isActiveJob(next)) return previous;
  if (previous.state === next.state && next.progress.step < previous.progress.step) return previous;
  return next;
}

/** The job the status bar shows: the first running one, else the first queued one. */
export function headlineJob(jobs: readonly JobInfo[]): JobInfo | null {
  return jobs.find((j) => j.state === 'running') ?? jobs.find((j) => j.state === 'queued') ?? null;
}

/** "12 / 40 files" style text, or the bare message while the total is unknown. */
export function jobProgressText(job: JobInfo): string {
  const { step, total, message } = job.progress;
  const count = total > 0 ? `${step} / ${total}` : '';
  return [count, message].filter((s) => s.length > 0).join(' · ');
}
